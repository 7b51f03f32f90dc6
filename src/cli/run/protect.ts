import { basename } from 'node:path';
import type { Logger } from 'pino';
import type { ConfigResult } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { watchConfig, type ConfigWatcher } from '../../config/watch.js';
import { systemClock } from '../../loop/clock.js';
import type { Clock } from '../../loop/clock.js';
import { criuCheckpointer } from '../../loop/criu-checkpointer.js';
import type { SupervisorExit, SupervisorSettings } from '../../loop/supervisor-deps.js';
import { supervise } from '../../loop/supervisor.js';
import { SmapsProbe } from '../../process/dirty-probe.js';
import type { locateCriu } from '../../criu/locate.js';
import type { DumpNetworkLock } from '../../criu/network.js';
import type { CheckpointMode, CheckpointRecord } from '../../model/record.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { applyReload } from '../reload.js';
import type { RunNetwork } from '../run-network.js';
import { settingsSource } from '../settings.js';
import { probeInForce, probeSettingText } from '../../config/probe-setting.js';
import type { ServiceManagerLink } from './service-manager.js';
import { stopOnSignals } from '../stop-signals.js';
import { stdoutClosed } from '../stdout.js';
import { KIND_OF_MODE, type Capabilities } from './checkpoint-mode.js';
import { backupHoldsReader } from './backup-holds.js';
import { checkpointReport } from './checkpoint-report.js';
import { discardOutputCommit, endOutputCommit } from './output-commit.js';
import { fencedExit, runExitCode } from './run-exit.js';
import type { Protection } from './start-protection.js';
import { stopWorkload } from './workload-target.js';
import { errorCode, errorMessage } from '../../fs/error-code.js';

/** What `remusd run` was asked to do beyond the config. */
export interface RunRequest {
  config: Config;
  /** The config file, when there is one: watched for changes and re-read on SIGHUP. */
  configPath: string | undefined;
  recordsFile: string;
  /** --stop-workload: SIGTERM when remusd stops, SIGKILL after graceMs; false: the workload keeps running. */
  stopWorkload: false | { graceMs: number };
  /** Stop after this many checkpoints (tests, benchmarks, the demo). */
  maxCheckpoints: number | undefined;
  /** Stop after this long (ms). */
  durationMs: number | undefined;
  /** Print every record as a line on stdout (in addition to the records file). */
  printRecords: boolean;
  log: Logger;
}

export interface CheckpointingSetup {
  criu: Awaited<ReturnType<typeof locateCriu>>;
  capabilities: Capabilities;
  mode: CheckpointMode;
  root: string;
  /** The supervisor's clock: its sleeps tell the watchdog that the loop is idle, not stuck. */
  clock: Clock;
  /** criu.realtime_priority when chrt can use it here (run-workload.ts); undefined: normal scheduling. */
  realtimePriority: number | undefined;
  service: ServiceManagerLink;
}

/**
 * Checkpoints the protected workload until asked to stop (a signal, --duration, --max-checkpoints, a closed
 * stdout), until it exits, or until it is fenced; then tears the protection down and returns the exit status.
 */
export async function protectUntilStopped(
  request: RunRequest,
  protection: Protection,
  { criu, capabilities, mode, root, clock, service, realtimePriority }: CheckpointingSetup,
): Promise<number> {
  const { log } = request;
  const { records, metrics, guard, network, target } = protection;
  let config = request.config;
  guard?.protect(target.pid);
  log.info({ pid: target.pid, images: root, mode }, `supervising pid ${target.pid}; images in ${root}`);
  service.starting(target.pid);

  const toSettings = settingsSource(mode);
  let watcher: ConfigWatcher | undefined;
  if (request.configPath !== undefined) {
    // A changed network section is refused like every key read only at the start (src/config/reload.ts).
    const file = request.configPath;
    const observer = {
      configReloaded(ok: boolean, at: Date) {
        metrics?.configReloaded(ok, at);
        service.reloaded(ok);
      },
    };
    watcher = watchConfig(file, (result: ConfigResult) => {
      service.reloading(); // a changed file is a reload too (SIGHUP said so already)
      config = applyReload(config, result, file, log, observer);
    });
  }
  const controller = new AbortController();
  controller.signal.addEventListener('abort', () => service.stopping(stopReason(controller.signal)), { once: true });
  const detachSignals = stopOnSignals(controller, log, 'the checkpoint in progress');
  // `remusd run --print | head -1`: the reader is gone; stop like on SIGTERM (the demo then stops its workload).
  const onStdoutClosed = () => {
    log.info('stdout was closed (EPIPE): stopping after the checkpoint in progress');
    controller.abort(new Error('stdout was closed'));
  };
  stdoutClosed.addEventListener('abort', onStdoutClosed, { once: true });
  const onHangup = () => {
    if (watcher === undefined) return;
    service.reloading();
    void watcher.reload();
  };
  process.on('SIGHUP', onHangup);
  // --duration may be weeks: the clock sleeps past what one timer holds.
  const durationTimer = new AbortController();
  if (request.durationMs !== undefined) {
    void systemClock.sleep(request.durationMs, durationTimer.signal).then(() => {
      if (!durationTimer.signal.aborted) controller.abort(new Error('--duration reached'));
    });
  }

  const report = checkpointReport(log, request.printRecords);
  let exit: SupervisorExit;
  let gate = protection.gate;
  // remusd's inbound hold replaces CRIU's dropping network lock when the gate has one (src/criu/network.ts).
  const lock: DumpNetworkLock = protection.gate?.output.holdsInbound === true ? 'skip' : 'nftables';
  // Fenced: checkpointing stops, and the gate releases nothing more (destroyed, never opened: what it holds
  // was not acknowledged, and the host that takes over may already answer for it).
  // A CRIU dump in progress is killed too: nothing after the fence is published, and a dump that holds the
  // killed workload traced kept its zombie (and pid) alive and remusd from exiting (seen: 30 s and more).
  const cancel = new AbortController();
  guard?.onFenced(() => {
    controller.abort(new Error('fenced: the lease was lost'));
    cancel.abort();
    const fencedGate = gate;
    gate = undefined;
    void discardOutputCommit(fencedGate);
  });
  const events = {
    info: (message: string, fields?: Record<string, unknown>) => log.info(fields ?? {}, message),
    warn: (message: string, fields?: Record<string, unknown>) => {
      report.beforeLogLine();
      log.warn(fields ?? {}, message);
    },
    error: (message: string, fields?: Record<string, unknown>) => {
      report.beforeLogLine();
      log.error(fields ?? {}, message);
    },
  };
  const probe = await startProbe(target.pid, config, mode, log);
  const backupHolds = backupHoldsReader(root, (message) => events.warn(message));
  try {
    exit = await supervise({
      probe,
      checkpointer: criuCheckpointer({
        criu,
        root,
        pid: target.pid,
        kind: KIND_OF_MODE[mode],
        delta: mode === 'delta',
        pageSize: capabilities.pageSize,
        log: events,
        cancel: cancel.signal,
        realtimePriority,
      }),
      mode,
      pageSize: capabilities.pageSize,
      initialIntervalMs: config.interval.initialMs,
      target,
      settings: () => withNetworkArgs(toSettings(config), network, lock),
      records,
      clock,
      signal: controller.signal,
      output: gate?.output,
      mayPublish: () => guard?.fenced !== true,
      // `config` is the one in force (a reload replaces it).
      backupHolds: () => (config.checkpoint.retention.compactAfterShip ? backupHolds() : undefined),
      events: {
        ...events,
        failure: (_seq, message, logTail) => {
          metrics?.failure();
          service.failed(message);
          report.beforeLogLine();
          log.warn({ logTail }, message);
        },
        record(record: CheckpointRecord, band) {
          metrics?.observe(record, band);
          guard?.note(basename(record.dir));
          service.checkpointed(record, target.pid);
          const checkpoints = report.record(record, band);
          if (request.maxCheckpoints !== undefined && checkpoints >= request.maxCheckpoints)
            controller.abort(new Error('--max-checkpoints reached'));
        },
      },
    });
  } catch (error) {
    // The fence destroyed the gate under a checkpoint in progress: the fence is the outcome, not the gate.
    if (guard?.fenced === true) return fencedExit(guard);
    // A gate that failed keeps the workload's output held (nothing uncommitted may leak): say so.
    if (gate !== undefined) {
      log.error(
        `output commit failed; the workload's output stays blocked until remusd runs again (remusd run --pid ${target.pid})`,
      );
      await discardOutputCommit(gate);
      gate = undefined;
    }
    // An I/O error the loop could not survive (the images directory vanished, went read-only…): say what
    // it was and that the workload now runs without checkpoints, rather than an internal error.
    if (errorCode(error) === undefined) throw error;
    const unprotected =
      (await target.alive()) && request.stopWorkload === false
        ? `; workload ${target.pid} keeps running WITHOUT checkpoints`
        : '';
    await guard?.end('lapse');
    throw new UserError(`supervision stopped: ${errorMessage(error)}${unprotected}`, EXIT.error);
  } finally {
    service.stopping(controller.signal.aborted ? stopReason(controller.signal) : 'the supervisor loop ended');
    report.end();
    durationTimer.abort();
    detachSignals();
    process.off('SIGHUP', onHangup);
    stdoutClosed.removeEventListener('abort', onStdoutClosed);
    watcher?.close();
    records.close();
    if (gate !== undefined) await endOutputCommit(gate, log);
    await metrics?.close();
  }

  if (guard?.fenced === true) return fencedExit(guard);
  // A workload that is gone needs no lease: revoking it lets the backup take over at once.
  await guard?.end(exit.reason === 'workload-exited' ? 'release' : 'lapse');
  if (request.stopWorkload !== false) await stopWorkload(target, request.stopWorkload.graceMs, log);
  await network?.close();
  return runExitCode(exit, target, request.stopWorkload !== false, request.recordsFile, log);
}

function stopReason(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : 'asked to stop';
}

// The supervisor's settings with the network section's dump options (and the network lock) after the
// config's own extra_args.
function withNetworkArgs(
  settings: SupervisorSettings,
  network: RunNetwork | undefined,
  lock: DumpNetworkLock,
): SupervisorSettings {
  if (network === undefined) return settings;
  return {
    ...settings,
    criu: { ...settings.criu, extraArgs: [...settings.criu.extraArgs, ...network.dumpArgs(lock)] },
  };
}

/**
 * The dirty-size probe on the workload, tried once when the config turns it on in this mode (probe.enabled
 * true, or auto with an adaptive policy in an incremental mode): a reset and a reading. When that fails here
 * (no /proc access, a kernel without clear_refs) the loop waits for the policy's intervals, and a log line
 * says why. Made anyway when off, so that a reload can turn it on.
 */
async function startProbe(
  pid: number,
  config: Config,
  mode: CheckpointMode,
  log: RunRequest['log'],
): Promise<SmapsProbe | undefined> {
  const probe = new SmapsProbe(pid);
  const setting = probeSettingText(config.probe.enabled, mode, config.policy.kind);
  if (!probeInForce(config.probe.enabled, mode, config.policy.kind)) {
    log.info(`dirty-size probe ${setting}`);
    return probe;
  }
  try {
    await probe.reset();
    await probe.read();
  } catch (error) {
    log.warn(`dirty-size probe unavailable, checkpoints follow the policy's intervals: ${errorMessage(error)}`);
    return undefined;
  }
  const { minPeriodMs, maxPeriodMs } = config.probe;
  log.info(
    `dirty-size probe ${setting}: reading /proc/${pid}/smaps every interval/8 within [${minPeriodMs} ms, ${maxPeriodMs} ms]`,
  );
  return probe;
}
