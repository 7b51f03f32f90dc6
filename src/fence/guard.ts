// A workload under a lease: the side that runs it (remusd run on the primary, or a backup after its failover)
// holds PREFIX/NAME/leader, and if the lease is lost or cannot be proven held it fences: the workload is
// frozen (SIGSTOP) or killed, fenced.json is written beside the checkpoints, and the owner is told so it can
// stop checkpointing, shipping and releasing output. This is the one case where remusd stops a workload on
// purpose: a workload that runs on without the lease may run twice.

import { join } from 'node:path';
import { leaderKey } from '../config/fencing.js';
import { writeJsonAtomically } from '../fs/atomic-file.js';
import { errorMessage } from '../fs/error-code.js';
import type { Clock } from '../loop/clock.js';
import type { EtcdFencing, LeaderValue } from './etcd.js';
import { stopWorkload } from './fence-action.js';
import { LeaseHolder } from './holder.js';
import type { Released, ReleasedValue } from './released.js';
import { clearFenceReport, FENCE_REPORT_MAX_BYTES, FENCED_FILE, type FenceReport } from './marker.js';
import type { FenceMetrics } from './metrics.js';
import { ensureWatchdogBinary, Watchdog } from './watchdog.js';

export interface GuardOptions {
  config: EtcdFencing;
  role: LeaderValue['role'];
  /** Where fenced.json goes (the images or backup directory). */
  dir: string;
  clock: Clock;
  log: { info(message: string): void; warn(message: string): void; error(message: string): void };
  metrics?: FenceMetrics;
  signal?: AbortSignal;
  /** How long to wait for a lease someone else holds (default: the config's acquire_timeout). */
  waitMs?: number;
}

/** The lease, and the fence when it is lost. */
export class FenceGuard {
  private pid: number | undefined;
  private fencing: Promise<FenceReport> | undefined;
  private fenceReason: string | undefined;
  private readonly listeners: ((reason: string) => void)[] = [];
  private watchdog: Promise<Watchdog | undefined> | undefined;

  private constructor(
    private readonly options: GuardOptions,
    private holder: LeaseHolder | undefined,
  ) {}

  /** Acquires the lease (waiting up to acquire_timeout); throws LeaseUnavailableError when it cannot. */
  static async acquire(
    options: GuardOptions,
    value: Omit<LeaderValue, 'holder' | 'role' | 'since'>,
  ): Promise<FenceGuard> {
    const guard = new FenceGuard(options, undefined);
    const { config } = options;
    // Built before the lease is taken: a host that cannot run the watchdog must fail before any workload starts.
    await ensureWatchdogBinary();
    guard.holder = await LeaseHolder.acquire(
      config,
      { holder: config.holder, role: options.role, since: new Date().toISOString(), ...value },
      {
        waitMs: options.waitMs ?? config.acquireTimeoutMs,
        clock: options.clock,
        log: options.log.warn,
        signal: options.signal,
        events: {
          renewed: (ms) => {
            options.metrics?.renewed(ms);
            guard.armWatchdog();
          },
          renewFailed: (error, msToFence) => {
            options.metrics?.renewFailed(msToFence);
            options.log.warn(
              `lease renewal failed (${error}); fencing in ${Math.round(msToFence)} ms unless a renewal succeeds`,
            );
          },
          fenced: (reason) => void guard.fence(reason),
        },
      },
    );
    await clearFenceReport(options.dir);
    options.metrics?.held(true);
    options.log.info(
      `holding ${leaderKey(config)} as ${config.holder} (lease ${guard.holder.leaseId}, ttl ${config.timing.ttlMs} ms)`,
    );
    return guard;
  }

  /** This host's name as written in the key. */
  get holderName(): string {
    return this.options.config.holder;
  }

  /** The lease held ('' only inside acquire(), before the lease is granted). */
  get leaseId(): string {
    return this.holder?.leaseId ?? '';
  }

  /** Whether the fence was decided (the workload may still be being stopped). */
  get fenced(): boolean {
    return this.fenceReason !== undefined;
  }

  /** The fence's report once the workload is stopped and fenced.json written (undefined: not fenced). */
  async outcome(): Promise<FenceReport | undefined> {
    return this.fencing;
  }

  /** Names the workload to fence; fences it at once if the lease was lost already. */
  protect(pid: number): void {
    this.pid = pid;
    if (this.fencing !== undefined) stopWorkload(pid, this.options.config.onFence);
    else {
      void this.holder?.publish({ pid });
      this.watchdog = this.startWatchdog(pid);
    }
  }

  /** The watchdog's pid once it runs (tests). */
  async watchdogPid(): Promise<number | undefined> {
    return (await this.watchdog)?.pid;
  }

  // The watchdog fences the workload if this process dies or stops renewing: it is told, after each renewal, to
  // act half a margin after our own fence would (so that normally we fence first and it only when we cannot),
  // which is still half a margin before the lease could expire in etcd.
  private async startWatchdog(pid: number): Promise<Watchdog | undefined> {
    const { config, log } = this.options;
    try {
      const watchdog = await Watchdog.start({
        pid,
        action: config.onFence,
        report: join(this.options.dir, FENCED_FILE),
        fields: {
          key: leaderKey(config),
          holder: config.holder,
          lease: this.holder?.leaseId ?? '',
          action: config.onFence,
          pid,
        },
        lost: (why) =>
          log.error(`${why}: if remusd dies now, nothing fences workload ${pid} before the lease runs out`),
      });
      if (this.fencing !== undefined) watchdog.disarm();
      else watchdog.arm(this.watchdogBudgetMs());
      log.info(
        `watchdog ${watchdog.pid} fences workload ${pid} (${config.onFence}) if remusd dies or stops renewing the lease`,
      );
      return watchdog;
    } catch (error) {
      log.error(`${errorMessage(error)}: if remusd dies, nothing fences workload ${pid} before the lease runs out`);
      return undefined;
    }
  }

  private watchdogBudgetMs(): number {
    return (this.holder?.msToFence() ?? 0) + this.options.config.timing.marginMs / 2;
  }

  private armWatchdog(): void {
    void this.watchdog?.then((watchdog) => watchdog?.arm(this.watchdogBudgetMs()));
  }

  private async disarmWatchdog(): Promise<void> {
    (await this.watchdog)?.disarm();
  }

  /**
   * After a fence, once the checkpoint in progress has ended: stops the workload's tree again. A CRIU dump that
   * was running when the fence froze the workload resumes the tasks it seized when it finishes (--leave-running),
   * which can undo a SIGSTOP sent meanwhile (seen: the workload running again after the fence).
   */
  async reassert(): Promise<void> {
    if ((await this.fencing) === undefined || this.pid === undefined) return;
    stopWorkload(this.pid, this.options.config.onFence);
  }

  /** Calls listener the moment the fence is decided, before the workload is stopped (at once if it was). */
  onFenced(listener: (reason: string) => void): void {
    if (this.fenceReason !== undefined) listener(this.fenceReason);
    else this.listeners.push(listener);
  }

  /** Records a checkpoint in the key's value (for status); best effort. */
  note(checkpoint: string): void {
    void this.holder?.publish({ checkpoint });
  }

  /** Records output released without the backup's ack (released.ts); false: not recorded, so release nothing. */
  async recordReleased(value: ReleasedValue): Promise<boolean> {
    if (this.fenceReason !== undefined || this.holder === undefined) return false;
    return this.holder.recordReleased(value);
  }

  /** The backup caught up with `expected`: the record is no longer needed. */
  async clearReleased(expected: ReleasedValue): Promise<boolean> {
    if (this.fenceReason !== undefined || this.holder === undefined) return false;
    return this.holder.clearReleased(expected);
  }

  /** What the previous primary released unacknowledged (read by a backup that holds the lease, before it restores). */
  readReleased(): Promise<Released> {
    if (this.holder === undefined) return Promise.reject(new Error('no lease held'));
    return this.holder.readReleased();
  }

  /**
   * Ends the guard without a fence. `released`: the workload is gone, so the lease is revoked and a backup may
   * take over at once; otherwise it is left to run out (the workload still runs: nobody may take over sooner).
   */
  async end(how: 'release' | 'lapse'): Promise<void> {
    if (this.holder === undefined || this.fencing !== undefined) return;
    await this.disarmWatchdog();
    if (how === 'release') {
      const ok = await this.holder.release();
      this.options.log.info(
        ok
          ? `released ${leaderKey(this.options.config)}: the workload is gone`
          : 'could not revoke the lease; it runs out by itself',
      );
    } else {
      await this.holder.stop();
      this.options.log.warn(
        `stopped renewing ${leaderKey(this.options.config)}; the lease runs out in ≤ ${this.options.config.timing.ttlMs} ms while the workload keeps running unfenced`,
      );
    }
    this.options.metrics?.held(false);
  }

  private fence(reason: string): Promise<FenceReport> {
    this.fencing ??= (async () => {
      const started = performance.now();
      const { config, log } = this.options;
      // First the owner (stop checkpointing, shipping and releasing output), then the workload.
      this.fenceReason = reason;
      for (const listener of this.listeners.splice(0)) listener(reason);
      const decidedAt = new Date().toISOString();
      const outcome = this.pid === undefined ? undefined : stopWorkload(this.pid, config.onFence);
      (await this.watchdog)?.fenced();
      const report: FenceReport = {
        reason,
        at: decidedAt,
        key: leaderKey(config),
        holder: config.holder,
        lease: this.holder?.leaseId ?? '',
        action: config.onFence,
        ...(this.pid === undefined ? {} : { pid: this.pid }),
        pids: outcome?.pids ?? [],
        by: 'remusd',
        stop_ms: Math.round((performance.now() - started) * 1000) / 1000,
      };
      this.options.metrics?.fenced(config.onFence);
      const did =
        this.pid === undefined
          ? 'there was no workload yet'
          : `${config.onFence === 'freeze' ? 'FROZE (SIGSTOP)' : 'KILLED'} the workload (pid ${this.pid}, ${report.pids.length} process(es)) in ${report.stop_ms} ms`;
      log.error(
        `FENCED: ${reason}. ${did}. This host no longer runs the workload: another host may take it over. ` +
          (config.onFence === 'freeze' ? 'Do not SIGCONT it; kill it once the other host has taken over.' : ''),
      );
      // Durable before the lease is given up: a host that crashes after fencing must come back still saying
      // so (ship reports a fenced workload dead from this file), not with the file gone or empty.
      await writeJsonAtomically(join(this.options.dir, FENCED_FILE), report, {
        maxBytes: FENCE_REPORT_MAX_BYTES,
        indent: 2,
      }).catch((error: Error) => log.error(`could not write ${FENCED_FILE}: ${error.message}`));
      await this.holder?.stop();
      return report;
    })();
    return this.fencing;
  }
}
