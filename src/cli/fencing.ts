import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { leaderKey, type FencingConfig } from '../config/fencing.js';
import { FenceGuard } from '../fence/guard.js';
import { LeaseUnavailableError } from '../fence/holder.js';
import { fenceMetrics } from '../fence/metrics.js';
import type { LeaderValue } from '../fence/etcd.js';
import { systemClock } from '../loop/clock.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';

/**
 * With fencing, acquires the leader key for this process before it runs or restores a workload; a lease that
 * cannot be had is a user error with status 7 (nothing started). Without fencing: undefined.
 */
export async function acquireGuard(
  fencing: FencingConfig,
  options: { dir: string; role: LeaderValue['role']; log: Logger; registry?: Registry; waitMs?: number; signal?: AbortSignal; checkpoint?: string },
): Promise<FenceGuard | undefined> {
  if (fencing.kind === 'none') return undefined;
  const { log } = options;
  try {
    return await FenceGuard.acquire(
      {
        config: fencing,
        role: options.role,
        dir: options.dir,
        clock: systemClock,
        log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
        metrics: options.registry === undefined ? undefined : fenceMetrics(options.registry),
        signal: options.signal,
        waitMs: options.waitMs,
      },
      { pid: process.pid, ...(options.checkpoint === undefined ? {} : { checkpoint: options.checkpoint }) },
    );
  } catch (error) {
    if (error instanceof LeaseUnavailableError) {
      throw new UserError(`fencing: cannot acquire ${leaderKey(fencing)}: ${error.message}; not starting`, EXIT.noLease);
    }
    throw error;
  }
}

/** remusd run's lease: acquired before the workload is started or attached. */
export function guardPrimary(fencing: FencingConfig, dir: string, log: Logger, registry?: Registry): Promise<FenceGuard | undefined> {
  return acquireGuard(fencing, { dir, role: 'primary', log, registry });
}
