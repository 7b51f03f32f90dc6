import { mkdir, readdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigResult } from '../config/load.js';
import { watchConfig, type ConfigWatcher } from '../config/watch.js';
import type { Config } from '../config/schema.js';
import type { DumpKind } from '../criu/dump.js';
import { describeLocation, locateCriu } from '../criu/locate.js';
import { bestMode, probeCapabilities } from '../criu/probe.js';
import { systemClock } from '../loop/clock.js';
import { criuCheckpointer } from '../loop/criu-checkpointer.js';
import { DirLockedError, LOCK_NAME, lockDirectory, type DirLock } from '../loop/dir-lock.js';
import type { LoopMetrics } from '../loop/metrics.js';
import { inBand, statusLine, type StatusTally } from '../loop/status-line.js';
import { supervise, type SupervisorExit, type SupervisorSettings, type Target } from '../loop/supervisor.js';
import { attachedTarget, startedTarget } from '../loop/target.js';
import type { CheckpointMode, CheckpointRecord } from '../model/record.js';
import { isAlive } from '../process/proc.js';
import { startSessionLeader } from '../process/session.js';
import type { Server } from 'node:net';
import type { OutputCommit } from '../gate/commit.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { FenceGuard } from '../fence/guard.js';
import { guardPrimary } from './fencing.js';
import { prepareRunNetwork, type RunNetwork } from './run-network.js';
import { packageVersion } from './version.js';
import { openRecords } from './records-sink.js';
import { applyReload } from './reload.js';
import { settingsSource } from './settings.js';
import { stdoutClosed, writeStdout } from './stdout.js';

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
  /** Empty the images directory first, once it is locked (the demo: a summary of this run only). */
  fresh?: boolean;
  log: Logger;
}

const KIND_OF_MODE: Record<CheckpointMode, DumpKind> = { 'pre-dump': 'pre-dump', dump: 'dump', full: 'full', delta: 'full' };

/** Runs the supervisor for one workload with everything an operator expects around it; returns the exit status. */
export async function runSession(options: SessionOptions): Promise<number> {
  const { log, config } = options;
  const criu = await locateCriu({ flag: options.criuFlag, configPath: config.criu.path ?? undefined });
  log.info(`CRIU: ${describeLocation(criu)}`);
  const capabilities = await probeCapabilities(criu);
  if (!capabilities.modes.full.available) {
    throw new UserError(`CRIU cannot checkpoint here: ${capabilities.modes.full.why}. Run \`remusd check\` for details; fix: scripts/install-criu.sh as root.`, EXIT.criuUnavailable);
  }
  const mode = resolveMode(config.checkpoint.mode, capabilities);
  log.info(`checkpoint mode: ${mode}${config.checkpoint.mode === 'auto' ? ` (auto: dirty tracking ${capabilities.dirtyTracking.available ? 'available' : 'unavailable'})` : ''}`);

  const root = config.checkpoint.dir;
  const lock = await takeImagesDir(root);
  try {
    if (options.fresh === true) await emptyDirectory(root, [LOCK_NAME]);
    return await superviseLocked(options, { criu, capabilities, mode, root });
  } finally {
    lock.release();
  }
}

// mkdir and lock the images directory: in use, unwritable or not a directory is a user error before anything starts.
async function takeImagesDir(root: string): Promise<DirLock> {
  try {
    await mkdir(root, { recursive: true });
    return await lockDirectory(root);
  } catch (error) {
    if (error instanceof DirLockedError) throw new UserError(`checkpoint.dir ${error.message}`, EXIT.usage);
    const { code, message } = error as NodeJS.ErrnoException;
    throw new UserError(`checkpoint.dir ${root}: cannot write there (${code ?? message})`, EXIT.usage);
  }
}

async function emptyDirectory(dir: string, keep: readonly string[]): Promise<void> {
  const names = (await readdir(dir)).filter((name) => !keep.includes(name));
  await Promise.all(names.map((name) => rm(join(dir, name), { recursive: true, force: true })));
}

interface Resolved {
  criu: Awaited<ReturnType<typeof locateCriu>>;
  capabilities: Awaited<ReturnType<typeof probeCapabilities>>;
  mode: CheckpointMode;
  root: string;
}

async function superviseLocked(options: SessionOptions, { criu, capabilities, mode, root }: Resolved): Promise<number> {
  const { log } = options;
  let config = options.config;
  const recordsFile = options.recordsFile ?? config.records.file;
  let metrics: LoopMetrics | undefined;
  const records = openRecords(recordsFile, config.records, log, () => metrics?.recordLost());
  // Before the workload is started: a metrics address that cannot be bound must fail with nothing started.
  if (config.metrics.listen !== null) {
    // prom-client is loaded only when metrics are asked for: it is a fifth of remusd's resident memory.
    const { serveMetrics } = await import('../loop/metrics.js');
    const { host, port } = config.metrics.listen;
    metrics = await serveMetrics(host, port, { version: packageVersion(), criuVersion: capabilities.criu.version ?? 'unknown', mode }).catch((error: NodeJS.ErrnoException) => {
      records.close();
      throw new UserError(`metrics.listen ${host}:${port}: cannot listen there (${error.code ?? error.message})`, EXIT.usage);
    });
    log.info(`metrics on http://${metrics.address}/metrics`);
  }
  // The lease comes before the workload: a host that is not the leader must not start (or protect) it.
  const guard = await guardPrimary(config.fencing, root, log, metrics?.registry).catch(async (error: unknown) => {
    await metrics?.close();
    records.close();
    throw error;
  });
  // The namespace and its veth next: the gate sits on the veth, and the workload starts inside.
  const network = config.network === null ? undefined : await prepareRunNetwork(config.network, options.workload, log).catch(async (error: unknown) => {
    await guard?.end('lapse');
    await metrics?.close();
    records.close();
    throw error;
  });
  // The gate goes up before the workload starts: its very first packets belong to epoch 1.
  const gateHolder = await startOutputCommit(config, root, capabilities.plugQdisc, log, metrics).catch(async (error: unknown) => {
    await guard?.end('lapse');
    await network?.close();
    await metrics?.close();
    records.close();
    throw error;
  });
  const target = await acquireTarget(options, root, network).catch(async (error: unknown) => {
    await gateHolder?.output.gate.destroy();
    gateHolder?.control?.close();
    await guard?.end('lapse');
    await network?.close();
    await metrics?.close();
    records.close();
    throw error;
  });
  guard?.protect(target.pid);
  log.info({ pid: target.pid, images: root, mode }, `supervising pid ${target.pid}; images in ${root}`);

  const toSettings = settingsSource();
  let watcher: ConfigWatcher | undefined;
  if (options.configPath !== undefined) {
    // A changed network section is refused like every key read only at the start (src/config/reload.ts).
    const file = options.configPath;
    watcher = watchConfig(file, (result: ConfigResult) => {
      config = applyReload(config, result, file, log, metrics);
    });
  }
  const controller = new AbortController();
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // CRIU runs with its stdio in files and finishes on its own; the workload is thawed by it.
      log.warn(`${signal} again: exiting now`);
      process.exit(EXIT.interrupted);
    }
    log.info(`${signal}: stopping after the checkpoint in progress`);
    controller.abort();
  };
  // `remusd run --print | head -1`: the reader is gone; stop like on SIGTERM (the demo then stops its workload).
  const onStdoutClosed = () => {
    log.info('stdout was closed (EPIPE): stopping after the checkpoint in progress');
    controller.abort();
  };
  stdoutClosed.addEventListener('abort', onStdoutClosed, { once: true });
  const onHangup = () => void watcher?.reload();
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHangup);
  // --duration may be weeks: the clock sleeps past what one timer holds.
  const durationTimer = new AbortController();
  if (options.durationMs !== undefined) {
    void systemClock.sleep(options.durationMs, durationTimer.signal).then(() => {
      if (!durationTimer.signal.aborted) controller.abort();
    });
  }

  const tally: StatusTally = { checkpoints: 0, inBand: 0 };
  const live = process.stderr.isTTY && !options.printRecords;
  let exit: SupervisorExit;
  let gate = gateHolder;
  // Fenced: checkpointing stops, and the gate releases nothing more (destroyed, never opened: what it holds
  // was not acknowledged, and the host that takes over may already answer for it).
  guard?.onFenced(() => {
    controller.abort();
    const fencedGate = gate;
    gate = undefined;
    fencedGate?.control?.close();
    void fencedGate?.output.gate.destroy().catch(() => undefined);
  });
  const events = {
    info: (message: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, message),
    warn: (message: string, fields?: Record<string, unknown>) => {
      if (live) process.stderr.write('\r\x1b[K');
      log.warn(fields ?? {}, message);
    },
  };
  try {
    exit = await supervise({
      checkpointer: criuCheckpointer({ criu, root, pid: target.pid, kind: KIND_OF_MODE[mode], delta: mode === 'delta', pageSize: capabilities.pageSize, log: events }),
      mode,
      pageSize: capabilities.pageSize,
      initialIntervalMs: config.interval.initialMs,
      target,
      settings: () => withNetworkArgs(toSettings(config), network),
      records,
      clock: systemClock,
      signal: controller.signal,
      output: gateHolder?.output,
      mayPublish: () => guard?.fenced !== true,
      events: {
        ...events,
        failure: (_seq, message, logTail) => {
          metrics?.failure();
          if (live) process.stderr.write('\r\x1b[K');
          log.warn({ logTail }, message);
        },
        record(record: CheckpointRecord, band) {
          tally.checkpoints += 1;
          if (inBand(record.size_bytes, band)) tally.inBand += 1;
          metrics?.observe(record, band);
          logCheckpoint(log, record);
          guard?.note(checkpointNameOf(record));
          if (options.printRecords) writeStdout(`${statusLine(record, band, tally)}\n`);
          else if (live) process.stderr.write(`\r\x1b[K${statusLine(record, band, tally)}`);
          if (options.maxCheckpoints !== undefined && tally.checkpoints >= options.maxCheckpoints) controller.abort();
        },
      },
    });
  } catch (error) {
    // The fence destroyed the gate under a checkpoint in progress: the fence is the outcome, not the gate.
    if (guard?.fenced === true) return fencedExit(guard);
    // A gate that failed keeps the workload's output held (nothing uncommitted may leak): say so.
    if (gate !== undefined) {
      log.error(`output commit failed; the workload's output stays blocked until remusd runs again (remusd run --pid ${target.pid})`);
      await gate.output.gate.destroy().catch(() => undefined);
      gate.control?.close();
      gate = undefined;
    }
    // An I/O error the loop could not survive (the images directory vanished, went read-only…): say what
    // it was and that the workload now runs without checkpoints, rather than an internal error.
    const { code } = error as NodeJS.ErrnoException;
    if (code === undefined) throw error;
    const unprotected = (await target.alive()) && !options.stopWorkload ? `; workload ${target.pid} keeps running WITHOUT checkpoints` : '';
    await guard?.end('lapse');
    throw new UserError(`supervision stopped: ${(error as Error).message}${unprotected}`, EXIT.error);
  } finally {
    if (live) process.stderr.write('\n');
    durationTimer.abort();
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
    process.off('SIGHUP', onHangup);
    stdoutClosed.removeEventListener('abort', onStdoutClosed);
    watcher?.close();
    records.close();
    if (gate !== undefined) {
      gate.control?.close();
      await gate.output.stop().catch((error: Error) => log.error(`could not open the output gate: ${error.message}`));
      log.info({ output: gate.output.summary() }, describeOutput(gate.output));
      log.warn('output commit ended: the workload\'s output is no longer held (unprotected until remusd runs again)');
    }
    await metrics?.close();
  }

  if (guard?.fenced === true) return fencedExit(guard);
  // A workload that is gone needs no lease: revoking it lets the backup take over at once.
  await guard?.end(exit.reason === 'workload-exited' ? 'release' : 'lapse');
  if (options.stopWorkload && (await target.alive())) {
    log.info(`--stop-workload: sending SIGTERM to ${target.pid}`);
    process.kill(target.pid, 'SIGTERM');
    if (network !== undefined) await waitForExit(target, STOP_GRACE_MS);
  }
  await network?.close();
  switch (exit.reason) {
    case 'stopped':
      log.info(`stopped after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`);
      if (!options.stopWorkload && (await target.alive())) log.warn(`workload ${target.pid} keeps running without checkpoints`);
      return EXIT.ok;
    case 'workload-exited':
      log.info(`workload ${target.pid} ended (${exit.status}) after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`);
      return exit.exitCode === 0 ? EXIT.ok : EXIT.workloadFailed;
    case 'failures':
      log.error(`${exit.message}\nworkload ${target.pid} keeps running WITHOUT checkpoints`);
      return EXIT.criuFailures;
  }
}


function resolveMode(setting: Config['checkpoint']['mode'], capabilities: Awaited<ReturnType<typeof probeCapabilities>>): CheckpointMode {
  if (setting === 'auto') {
    const mode = bestMode(capabilities);
    if (mode === undefined) throw new UserError('no checkpoint mode is available here (see `remusd check`)', EXIT.criuUnavailable);
    return mode;
  }
  const availability = capabilities.modes[setting];
  if (!availability.available) {
    throw new UserError(`checkpoint.mode ${setting} is not available here: ${availability.why}. Use mode auto, or see \`remusd check\`.`, EXIT.criuUnavailable);
  }
  return setting;
}

// How long --stop-workload waits for the workload to exit before its network namespace is closed (kept if it still runs).
const STOP_GRACE_MS = 5000;

async function waitForExit(target: Target, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await target.alive()) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
}

// The supervisor's settings with the network section's dump options after the config's own extra_args.
function withNetworkArgs(settings: SupervisorSettings, network: RunNetwork | undefined): SupervisorSettings {
  if (network === undefined) return settings;
  return { ...settings, criu: { ...settings.criu, extraArgs: [...settings.criu.extraArgs, ...network.dumpArgs] } };
}

async function acquireTarget(options: SessionOptions, root: string, network: RunNetwork | undefined): Promise<Target> {
  const { workload, log } = options;
  if ('pid' in workload) {
    // `remusd run` refused unfit targets already (src/process/attach-check.ts); this catches one that died since.
    if (!(await isAlive(workload.pid))) throw new UserError(`--pid ${workload.pid}: no such process`);
    return attachedTarget(workload.pid);
  }
  const logFile = workload.logFile ?? join(root, 'workload.out');
  const { command, args } = network?.wrap(workload.command, workload.args) ?? workload;
  const child = startSessionLeader(command, args, logFile);
  if (child.pid < 0) {
    const failure = await child.exited.catch((error: Error) => error);
    throw new UserError(`cannot start ${workload.command}: ${(failure as Error).message ?? 'unknown error'}`);
  }
  log.info(`started ${workload.command} as pid ${child.pid} (session leader; output in ${logFile})`);
  return startedTarget(child);
}

/** Output commit, when enabled: the gate (and with backup-ack, the control socket remusd ship releases through). */
async function startOutputCommit(
  config: Config,
  root: string,
  plug: { available: boolean; detail: string },
  log: Logger,
  metrics: LoopMetrics | undefined,
): Promise<{ output: OutputCommit; control: Server | undefined } | undefined> {
  const settings = config.outputCommit;
  if (!settings.enabled) return undefined;
  const { chooseMechanism, startGate } = await import('../gate/start.js');
  const { OutputCommit } = await import('../gate/commit.js');
  const hostInterface = settings.interface;
  if (hostInterface === null) throw new UserError('output_commit.enabled needs output_commit.interface (the host-side end of the workload\'s veth)', EXIT.usage);
  let choice;
  try {
    choice = chooseMechanism(settings.mechanism, plug);
  } catch (error) {
    throw new UserError((error as Error).message, EXIT.criuUnavailable);
  }
  const gate = await startGate(choice.mechanism, hostInterface, settings.maxHeldBytes).catch((error: Error) => {
    throw new UserError(`output commit: cannot hold the output of ${hostInterface}: ${error.message}`, EXIT.criuUnavailable);
  });
  const output = new OutputCommit(gate, settings.releaseAfter, { released: (release, ms) => metrics?.released(release, ms) });
  log.info(`output commit: ${choice.mechanism} gate on ${hostInterface} (${choice.why}); an epoch is released after ${settings.releaseAfter === 'fsync' ? 'its checkpoint is fsynced here' : "the backup's ack (remusd ship)"}`);
  if (settings.releaseAfter === 'fsync') return { output, control: undefined };
  const { controlSocketPath, serveControlSocket } = await import('../gate/control.js');
  const path = controlSocketPath(root);
  const control = await serveControlSocket(path, (seq) => output.releaseAcked(seq)).catch(async (error: Error) => {
    await gate.destroy();
    throw new UserError(`output commit: cannot listen on ${path}: ${error.message}`);
  });
  log.info(`output commit: remusd ship releases epochs through ${path}`);
  return { output, control };
}

function describeOutput(output: OutputCommit): string {
  const s = output.summary();
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  return (
    `output commit: ${s.packets} packets (${s.bytes} bytes) held and released, ${s.dropped} dropped at the bound; ` +
    `added latency p50 ${ms(s.holdP50Ms)} p99 ${ms(s.holdP99Ms)}; release p50 ${ms(s.releaseP50Ms)} p99 ${ms(s.releaseP99Ms)}`
  );
}

async function fencedExit(guard: FenceGuard): Promise<number> {
  await guard.outcome();
  return EXIT.fenced;
}

function checkpointNameOf(record: CheckpointRecord): string {
  return basename(record.dir);
}

// One line per checkpoint at debug, with its numbers as fields; one at info when the interval changes.
function logCheckpoint(log: Logger, record: CheckpointRecord): void {
  const fields = {
    seq: record.seq,
    mode: record.mode,
    size_bytes: record.size_bytes,
    interval_ms: record.interval_ms,
    next_interval_ms: record.next_interval_ms,
    decision: record.decision,
    frozen_us: record.frozen_us,
    criu_wall_ms: record.criu_wall_ms,
    overrun: record.overrun,
  };
  log.debug(fields, `checkpoint ${record.seq}: ${record.reason}`);
  if (record.next_interval_ms !== record.interval_ms) {
    log.info({ ...fields, reason: record.reason }, `interval ${record.interval_ms} ms → ${record.next_interval_ms} ms (${record.decision}): ${record.reason}`);
  }
}
