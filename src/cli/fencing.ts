import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { leaderKey, type FencingConfig } from '../config/fencing.js';
// The etcd client (gRPC) and prom-client are loaded only when fencing is configured: remusd run without
// fencing must not carry them in its resident memory (src/bench supervisor: RSS target).
import type { FenceGuard } from '../fence/guard.js';
import type { LeaderValue } from '../fence/etcd.js';
import { systemClock } from '../loop/clock.js';
import { isAlive } from '../process/proc.js';
import type { RestoreGate } from '../replicate/auto-failover.js';
import type { FailoverOptions } from '../replicate/failover.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * With fencing, acquires the leader key for this process before it runs or restores a workload; a lease that
 * cannot be had is a user error with status 7 (nothing started). Without fencing: undefined.
 */
export async function acquireGuard(
  fencing: FencingConfig,
  options: {
    dir: string;
    role: LeaderValue['role'];
    log: Logger;
    registry?: Registry;
    waitMs?: number;
    signal?: AbortSignal;
    checkpoint?: string;
  },
): Promise<FenceGuard | undefined> {
  if (fencing.kind === 'none') return undefined;
  const { log } = options;
  const [{ FenceGuard }, { LeaseUnavailableError }] = await Promise.all([
    import('../fence/guard.js'),
    import('../fence/holder.js'),
  ]);
  const { fenceMetrics } =
    options.registry === undefined ? { fenceMetrics: undefined } : await import('../fence/metrics.js');
  try {
    return await FenceGuard.acquire(
      {
        config: fencing,
        role: options.role,
        dir: options.dir,
        clock: systemClock,
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
        metrics: options.registry === undefined ? undefined : fenceMetrics?.(options.registry),
        signal: options.signal,
        waitMs: options.waitMs,
      },
      { pid: process.pid, ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }) },
    );
  } catch (error) {
    if (error instanceof LeaseUnavailableError) {
      throw new UserError(
        `fencing: cannot acquire ${leaderKey(fencing)}: ${error.message}; not starting`,
        EXIT.noLease,
      );
    }
    throw error;
  }
}

/** remusd run's lease: acquired before the workload is started or attached. */
export function guardPrimary(
  fencing: FencingConfig,
  dir: string,
  log: Logger,
  registry?: Registry,
): Promise<FenceGuard | undefined> {
  return acquireGuard(fencing, { dir, role: 'primary', log, registry });
}

/**
 * The backup's restore gate with fencing: the failover goes ahead only once this backup holds the leader key
 * (the primary's lease expired, or was released). It then guards the restored workload like a primary.
 */
export function leaseRestoreGate(
  fencing: FencingConfig,
  dir: string,
  log: Logger,
  registry?: Registry,
): (RestoreGate & { guard(): FenceGuard | undefined }) | undefined {
  if (fencing.kind === 'none') return undefined;
  let guard: FenceGuard | undefined;
  return {
    guard: () => guard,
    async tryAcquire() {
      try {
        guard = await acquireGuard(fencing, { dir, role: 'failed-over', log, registry, waitMs: 0 });
        return { ok: true };
      } catch (error) {
        if (!(error instanceof UserError)) throw error;
        const why = error.message.replace(/; not starting$/, '');
        return {
          ok: false,
          why: /cannot reach etcd/.test(why)
            ? `${why}; a backup that cannot reach etcd never restores`
            : `${why}; the primary still holds the lease (it is alive, or its lease has not run out yet)`,
        };
      }
    },
    async restoreCheck() {
      // Asked only after tryAcquire said ok; without the lease there is nothing a restore may rely on.
      if (guard === undefined) throw new Error('no lease held: not restoring');
      return mayRestoreUnder(fencing, guard);
    },
    restored(pid, checkpoint) {
      guard?.protect(pid);
      guard?.note(checkpoint);
    },
    async failed() {
      await guard?.end('release');
    },
  };
}

/**
 * Read once this host holds the lease, before it restores: what the previous primary released without the
 * backup's ack (src/fence/released.ts). A record that cannot be read refuses every restore: not knowing what
 * clients saw is no licence to restore.
 */
export async function mayRestoreUnder(
  fencing: Extract<FencingConfig, { kind: 'etcd' }>,
  guard: FenceGuard,
): Promise<FailoverOptions['mayRestore']> {
  const { releasedKey, staleRestore } = await import('../fence/released.js');
  const released = await guard.readReleased().catch((error: Error) => ({
    present: true as const,
    invalid: `cannot read ${releasedKey(fencing)}: ${error.message}`,
  }));
  return (candidate) => staleRestore(released, candidate);
}

/**
 * After a fenced failover: holds the lease for the restored workload until it exits (the lease is released),
 * the lease is lost (the workload is fenced: status 6) or signal aborts (the lease runs out). Returns the status.
 */
export async function holdRestored(guard: FenceGuard, pid: number, signal: AbortSignal, log: Logger): Promise<number> {
  log.info(
    `holding the lease as the new primary for the restored workload (pid ${pid}); stop remusd to let it run out`,
  );
  const fenced = new Promise<'fenced'>((resolve) => guard.onFenced(() => resolve('fenced')));
  const stopped = new Promise<'stopped'>((resolve) =>
    signal.addEventListener('abort', () => resolve('stopped'), { once: true }),
  );
  const ended = (async () => {
    while (!signal.aborted && !guard.fenced && (await isAlive(pid)))
      await new Promise((resolve) => setTimeout(resolve, 200));
    return 'ended' as const;
  })();
  const outcome = await Promise.race([fenced, stopped, ended]);
  if (outcome === 'fenced' || guard.fenced) {
    await guard.outcome();
    return EXIT.fenced;
  }
  if (outcome === 'ended') log.warn(`the restored workload (pid ${pid}) is gone`);
  await guard.end(outcome === 'ended' ? 'release' : 'lapse');
  return EXIT.ok;
}
