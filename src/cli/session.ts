import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { formatConfigError } from '../config/errors.js';
import type { ConfigResult } from '../config/load.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';
import type { Config } from '../config/schema.js';
import type { DumpKind } from '../criu/dump.js';
import { describeLocation, locateCriu } from '../criu/locate.js';
import { bestMode, probeCapabilities } from '../criu/probe.js';
import { systemClock } from '../loop/clock.js';
import type { LoopMetrics } from '../loop/metrics.js';
import { openRecordsFile } from '../loop/records.js';
import { inBand, statusLine, type StatusTally } from '../loop/status-line.js';
import { supervise, type SupervisorExit, type Target } from '../loop/supervisor.js';
import { attachedTarget, startedTarget } from '../loop/target.js';
import type { CheckpointMode, CheckpointRecord } from '../model/record.js';
import { isAlive, sessionId } from '../process/proc.js';
import { startSessionLeader } from '../process/session.js';
import { UserError } from './errors.js';
import { settingsSource } from './settings.js';

export interface SessionOptions {
  config: Config;
  /** The config file, when there is one: watched for changes and re-read on SIGHUP. */
  configPath: string | undefined;
  criuFlag: string | undefined;
  workload: { pid: number } | { command: string; args: string[]; logFile: string | undefined };
  recordsFile: string | undefined;
  stopWorkload: boolean;
  /** Stop after this many checkpoints (tests, benchmarks, the demo). */
  maxCheckpoints: number | undefined;
  /** Stop after this long (ms). */
  durationMs: number | undefined;
  /** Print every record as a line on stdout (in addition to the records file). */
  printRecords: boolean;
  log: Logger;
}

const KIND_OF_MODE: Record<CheckpointMode, DumpKind> = { 'pre-dump': 'pre-dump', dump: 'dump', full: 'full', delta: 'full' };

/** Runs the supervisor for one workload with everything an operator expects around it; returns the exit status. */
export async function runSession(options: SessionOptions): Promise<number> {
  const { log } = options;
  let config = options.config;
  const criu = await locateCriu({ flag: options.criuFlag, configPath: config.criu.path ?? undefined });
  log.info(`CRIU: ${describeLocation(criu)}`);
  const capabilities = await probeCapabilities(criu);
  if (!capabilities.modes.full.available) {
    throw new UserError(`CRIU cannot checkpoint here: ${capabilities.modes.full.why}. Run \`remusd check\` for details; fix: scripts/install-criu.sh as root.`, 3);
  }
  const mode = resolveMode(config.checkpoint.mode, capabilities);
  log.info(`checkpoint mode: ${mode}${config.checkpoint.mode === 'auto' ? ` (auto: dirty tracking ${capabilities.dirtyTracking.available ? 'available' : 'unavailable'})` : ''}`);

  const root = config.checkpoint.dir;
  await mkdir(root, { recursive: true });
  // Before the workload is started: a metrics address that cannot be bound must fail with nothing started.
  let metrics: LoopMetrics | undefined;
  if (config.metrics.listen !== null) {
    // prom-client is loaded only when metrics are asked for: it is a fifth of remusd's resident memory.
    const { serveMetrics } = await import('../loop/metrics.js');
    const { host, port } = config.metrics.listen;
    metrics = await serveMetrics(host, port).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`metrics.listen ${host}:${port}: cannot listen there (${error.code ?? error.message})`, 2);
    });
    log.info(`metrics on http://${metrics.address}/metrics`);
  }
  const target = await acquireTarget(options, root).catch(async (error: unknown) => {
    await metrics?.close();
    throw error;
  });
  log.info(`supervising pid ${target.pid}; images in ${root}`);

  const recordsFile = options.recordsFile ?? config.records.file;
  const records = openRecordsFile(recordsFile, config.records);
  const toSettings = settingsSource();
  let watcher: ConfigWatcher | undefined;
  if (options.configPath !== undefined) {
    watcher = watchConfig(options.configPath, (result: ConfigResult) => {
      if (result.ok) {
        config = result.config;
        log.info(`config reloaded from ${options.configPath}: lmin ${config.thresholds.lminBytes} B, lmax ${config.thresholds.lmaxBytes} B, policy ${config.policy.kind}`);
      } else {
        log.error(`config reload refused; keeping the last good config:\n${result.errors.map(formatConfigError).join('\n')}`);
      }
    });
  }
  const controller = new AbortController();
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // CRIU runs with its stdio in files and finishes on its own; the workload is thawed by it.
      log.warn(`${signal} again: exiting now`);
      process.exit(130);
    }
    log.info(`${signal}: stopping after the checkpoint in progress`);
    controller.abort();
  };
  const onHangup = () => void watcher?.reload();
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHangup);
  const timer = options.durationMs === undefined ? undefined : setTimeout(() => controller.abort(), options.durationMs);

  const tally: StatusTally = { checkpoints: 0, inBand: 0 };
  const live = process.stderr.isTTY && !options.printRecords;
  let exit: SupervisorExit;
  try {
    exit = await supervise({
      criu,
      root,
      mode,
      kind: KIND_OF_MODE[mode],
      pageSize: capabilities.pageSize,
      initialIntervalMs: config.interval.initialMs,
      target,
      settings: () => toSettings(config),
      records,
      clock: systemClock,
      signal: controller.signal,
      events: {
        info: (message, fields) => log.info(fields ?? {}, message),
        warn: (message, fields) => {
          if (live) process.stderr.write('\r\x1b[K');
          log.warn(fields ?? {}, message);
        },
        failure: (_seq, message, logTail) => {
          metrics?.failure();
          if (live) process.stderr.write('\r\x1b[K');
          log.warn({ logTail }, message);
        },
        record(record: CheckpointRecord, band) {
          tally.checkpoints += 1;
          if (inBand(record.size_bytes, band)) tally.inBand += 1;
          metrics?.observe(record, band);
          if (options.printRecords) process.stdout.write(`${statusLine(record, band, tally)}\n`);
          else if (live) process.stderr.write(`\r\x1b[K${statusLine(record, band, tally)}`);
          if (options.maxCheckpoints !== undefined && tally.checkpoints >= options.maxCheckpoints) controller.abort();
        },
      },
    });
  } finally {
    if (live) process.stderr.write('\n');
    clearTimeout(timer);
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHangup);
    watcher?.close();
    records.close();
    await metrics?.close();
  }

  if (options.stopWorkload && (await target.alive())) {
    log.info(`--stop-workload: sending SIGTERM to ${target.pid}`);
    process.kill(target.pid, 'SIGTERM');
  }
  switch (exit.reason) {
    case 'stopped':
      log.info(`stopped after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`);
      return 0;
    case 'workload-exited':
      log.info(`workload ${target.pid} ended (${exit.status}) after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`);
      return exit.exitCode === 0 ? 0 : 4;
    case 'failures':
      log.error(exit.message);
      return 5;
  }
}

function resolveMode(setting: Config['checkpoint']['mode'], capabilities: Awaited<ReturnType<typeof probeCapabilities>>): CheckpointMode {
  if (setting === 'auto') {
    const mode = bestMode(capabilities);
    if (mode === undefined) throw new UserError('no checkpoint mode is available here (see `remusd check`)', 3);
    return mode;
  }
  const availability = capabilities.modes[setting];
  if (!availability.available) {
    throw new UserError(`checkpoint.mode ${setting} is not available here: ${availability.why}. Use mode auto, or see \`remusd check\`.`, 3);
  }
  return setting;
}

async function acquireTarget(options: SessionOptions, root: string): Promise<Target> {
  const { workload, log } = options;
  if ('pid' in workload) {
    if (!(await isAlive(workload.pid))) throw new UserError(`--pid ${workload.pid}: no such process`);
    if ((await sessionId(workload.pid)) !== workload.pid) {
      log.warn(`pid ${workload.pid} is not a session leader: CRIU will refuse it unless criu.extra_args has --shell-job`);
    }
    return attachedTarget(workload.pid);
  }
  const logFile = workload.logFile ?? join(root, 'workload.out');
  const child = startSessionLeader(workload.command, workload.args, logFile);
  if (child.pid < 0) {
    const failure = await child.exited.catch((error: Error) => error);
    throw new UserError(`cannot start ${workload.command}: ${(failure as Error).message ?? 'unknown error'}`);
  }
  log.info(`started ${workload.command} as pid ${child.pid} (session leader; output in ${logFile})`);
  return startedTarget(child);
}
