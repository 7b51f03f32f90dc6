import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import { describeLocation, locateCriu } from '../../criu/locate.js';
import { probeCapabilities } from '../../criu/probe.js';
import { checkRealtime } from '../../criu/realtime.js';
import { systemClock } from '../../loop/clock.js';
import { LOCK_NAME } from '../../loop/dir-lock.js';
import { watchedClock } from '../../loop/loop-health.js';
import { startServiceNotifier } from '../../process/service-notify.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { resolveMode } from './checkpoint-mode.js';
import { emptyDirectory, takeImagesDir } from './images-dir.js';
import { protectUntilStopped, type CheckpointingSetup } from './protect.js';
import { serviceManagerLink } from './service-manager.js';
import { startProtection } from './start-protection.js';
import type { WorkloadSpec } from './workload-target.js';

export interface RunOptions {
  config: Config;
  /** The config file, when there is one: watched for changes and re-read on SIGHUP. */
  configPath: string | undefined;
  criuFlag: string | undefined;
  workload: WorkloadSpec;
  recordsFile: string | undefined;
  /** --stop-workload: SIGTERM when remusd stops, SIGKILL after graceMs; false: the workload keeps running. */
  stopWorkload: false | { graceMs: number };
  /** Stop after this many checkpoints (tests, benchmarks, the demo). */
  maxCheckpoints: number | undefined;
  /** Stop after this long (ms). */
  durationMs: number | undefined;
  /** Print every record as a line on stdout (in addition to the records file). */
  printRecords: boolean;
  /** Empty the images directory first, once it is locked (the demo: a summary of this run only). */
  fresh?: boolean;
  log: Logger;
}

/** `remusd run` and the demo: protects one workload with everything an operator expects around it; returns the exit status. */
export async function runWorkload(options: RunOptions): Promise<number> {
  const { log } = options;
  const notifier = await startServiceNotifier(process.env, (line) => log.warn(`service manager notification: ${line}`));
  const service = serviceManagerLink(notifier, log);
  // A step of the loop that takes longer than the watchdog timeout is stuck: the pings stop (loop-health.ts).
  const { clock, health } = watchedClock(systemClock, notifier.watchdogMs ?? Infinity);
  service.watch(health);
  try {
    return await lockAndProtect(options, { service, clock });
  } finally {
    service.close();
  }
}

async function lockAndProtect(
  options: RunOptions,
  around: Pick<CheckpointingSetup, 'service' | 'clock'>,
): Promise<number> {
  const { log, config } = options;
  const criu = await locateCriu({ flag: options.criuFlag, configPath: config.criu.path ?? undefined });
  log.info(`CRIU: ${describeLocation(criu)}`);
  const capabilities = await probeCapabilities(criu);
  if (!capabilities.modes.full.available) {
    throw new UserError(
      `CRIU cannot checkpoint here: ${capabilities.modes.full.why}. Run \`remusd check\` for details; fix: scripts/install-criu.sh as root.`,
      EXIT.criuUnavailable,
    );
  }
  const realtimePriority = await usableRealtimePriority(config.criu.realtimePriority, log);
  const mode = resolveMode(config.checkpoint.mode, capabilities);
  log.info(
    `checkpoint mode: ${mode}${config.checkpoint.mode === 'auto' ? ` (auto: dirty tracking ${capabilities.dirtyTracking.available ? 'available' : 'unavailable'})` : ''}`,
  );

  const root = config.checkpoint.dir;
  const lock = await takeImagesDir(root);
  try {
    if (options.fresh === true) await emptyDirectory(root, [LOCK_NAME]);
    const recordsFile = options.recordsFile ?? config.records.file;
    const protection = await startProtection({
      config,
      recordsFile,
      workload: options.workload,
      capabilities,
      mode,
      root,
      log,
    });
    return await protectUntilStopped({ ...options, recordsFile }, protection, {
      criu,
      capabilities,
      mode,
      root,
      realtimePriority,
      ...around,
    });
  } finally {
    lock.release();
  }
}

// criu.realtime_priority when chrt can use it here; otherwise normal scheduling, said once (a container
// without CAP_SYS_NICE, a host without util-linux chrt): slower freezes, never a failed checkpoint.
async function usableRealtimePriority(priority: number | null, log: Logger): Promise<number | undefined> {
  if (priority === null) return undefined;
  const check = await checkRealtime(priority);
  if (check.ok) {
    log.info(`CRIU dumps at SCHED_FIFO ${priority} (criu.realtime_priority)`);
    return priority;
  }
  log.warn(
    `criu.realtime_priority ${priority} cannot be used here (${check.reason}): CRIU dumps at normal scheduling, which freezes the workload longer on a busy machine`,
  );
  return undefined;
}
