import type { CriuLocation } from '../criu/locate.js';
import { pageSize } from '../criu/probe.js';
import { errorMessage } from '../fs/error-code.js';
import type { ReplicationLog, SenderEvent } from './events.js';
import type { NetworkConfig } from '../model/network.js';
import { failover, StaleRestoreError, type FailoverOptions } from './failover.js';
import { writeFailoverReport, type FailoverReport } from './failover-report.js';
import type { Receiver } from './receiver.js';
import { FailoverTrigger, type FailoverReason, type TriggerDecision } from './trigger.js';

export type { FailoverReport } from './failover-report.js';

/**
 * What must agree before this backup restores: with fencing, the etcd lease (src/fence/, wired in by the CLI).
 * tryAcquire is called again and again (every retryMs) while the failover waits; the backup restores only
 * once it says ok. A refusal says why (the primary still holds the lease; etcd cannot be reached).
 */
export interface RestoreGate {
  tryAcquire(): Promise<{ ok: true } | { ok: false; why: string }>;
  /** The restore succeeded: the gate now guards the restored workload. */
  restored(pid: number, checkpoint: string): void;
  /** The restore failed: nothing runs here, the gate may let go. */
  failed(): Promise<void>;
  /** Once held: what must be true of the checkpoint restored (fencing: not older than output the primary released unacknowledged). */
  restoreCheck?(): Promise<FailoverOptions['mayRestore']>;
  retryMs?: number;
}

export interface AutoFailoverOptions {
  dir: string;
  criu: CriuLocation;
  /** Silence from the senders that counts as the primary's death. */
  afterMs: number;
  log: ReplicationLog;
  /** Restore into a namespace of the backup's own with this service address (the config's network section). */
  network?: NetworkConfig | undefined;
  /** How often the silence is checked. */
  tickMs?: number;
  /** Asked before restoring (fencing); without one the trigger alone decides. */
  gate?: RestoreGate;
}

export interface AutoFailover {
  /** Feed it the receiver's events (ReceiverOptions.onEvent). */
  observe(event: SenderEvent): void;
  /** Starts watching for silence; the receiver is where checkpoints stop being taken when it fires. */
  start(receiver: Receiver): void;
  /** Settles with the report once a failover has been attempted (never, if it is not triggered). */
  readonly attempted: Promise<FailoverReport>;
  stop(): void;
}

/**
 * Restores the newest complete checkpoint on its own, at most once, when the trigger fires (trigger.ts):
 * closes the receiver's intake first (a transfer in flight lands or is dropped), restores with
 * failover(), and writes failover.json. A failed restore is reported and not retried.
 */
export function autoFailover(options: AutoFailoverOptions): AutoFailover {
  const trigger = new FailoverTrigger(options.afterMs);
  // Found now, off the failover's critical path.
  const knownPageSize = pageSize();
  knownPageSize.catch(() => undefined);
  let receiver: Receiver | undefined;
  let timer: NodeJS.Timeout | undefined;
  let report!: (value: FailoverReport) => void;
  const attempted = new Promise<FailoverReport>((resolve) => (report = resolve));

  // While the gate is asked: set; a shipper heard again calls off a silence failover.
  let waiting: { reason: FailoverReason; cancelled: boolean } | undefined;
  let halted = false;
  const tick = () => {
    const now = performance.now();
    decide(trigger.tick(now), now);
  };

  const decide = (decision: TriggerDecision | undefined, triggeredMs: number) => {
    if (decision === undefined) return;
    if (decision.type === 'ignored') {
      options.log.warn(decision.message);
      return;
    }
    if (timer !== undefined) clearInterval(timer);
    const fail = (error: Error) =>
      report({
        ok: false,
        reason: decision.reason,
        message: decision.message,
        triggered_at: new Date().toISOString(),
        error: error.message,
      });
    if (options.gate === undefined) {
      run(decision, triggeredMs).then(report, fail);
      return;
    }
    awaitGate(options.gate, decision).then((go) => {
      if (go) run(decision, triggeredMs).then(report, fail);
    }, fail);
  };

  // Asks the gate until it agrees (true), or until the shipper is heard again after a silence (false: the
  // trigger is armed again). A workload-dead failover waits for the gate as long as it takes.
  const awaitGate = async (
    gate: RestoreGate,
    decision: Extract<TriggerDecision, { type: 'failover' }>,
  ): Promise<boolean> => {
    const { log } = options;
    waiting = { reason: decision.reason, cancelled: false };
    let told = '';
    try {
      for (;;) {
        const answer = await gate.tryAcquire();
        if (halted) {
          if (answer.ok) await gate.failed();
          return false;
        }
        if (answer.ok) return true;
        if (answer.why !== told) log.warn(`not failing over (${decision.reason}) yet: ${answer.why}`);
        told = answer.why;
        await new Promise((resolve) => setTimeout(resolve, gate.retryMs ?? 250));
        if (halted) return false;
        if (waiting.cancelled) {
          log.info(`the shipper is heard again: not failing over (${told}); watching for silence again`);
          trigger.rearm(performance.now());
          timer = setInterval(tick, options.tickMs ?? 50);
          return false;
        }
      }
    } finally {
      waiting = undefined;
    }
  };

  const run = async (
    decision: Extract<TriggerDecision, { type: 'failover' }>,
    triggeredMs: number,
  ): Promise<FailoverReport> => {
    const { log, dir } = options;
    const base = {
      reason: decision.reason,
      message: decision.message,
      ...(decision.silentMs === undefined ? {} : { silent_ms: decision.silentMs }),
      triggered_at: new Date().toISOString(), // run() is called in the tick that fired
    };
    log.warn(`failing over (${decision.reason}): ${decision.message}`);
    // A silent sender's transfer in flight is stalled: drop it rather than wait for it. After a
    // workload-dead message none is in flight on that connection (the sender finishes it first).
    await receiver?.closeIntake(`it failed over (${decision.reason})`, {
      dropConnections: decision.reason === 'silence',
    });
    log.info('this backup takes no more checkpoints: it is failing over');
    let result: FailoverReport;
    try {
      const mayRestore = await options.gate?.restoreCheck?.();
      const restored = await failover(options.criu, dir, {
        network: options.network,
        log: { info: (message) => log.info(message) },
        pageSize: knownPageSize,
        mayRestore,
      });
      result = {
        ok: true,
        ...base,
        ...(restored.run === undefined ? {} : { run: restored.run }),
        run_reason: restored.runReason,
        checkpoint: restored.name,
        chain_length: restored.chainLength,
        pid: restored.pid,
        trigger_to_restored_ms: Math.round(performance.now() - triggeredMs),
        verify_ms: restored.verifyMs,
        restore_ms: restored.wallMs,
        restored_at: new Date().toISOString(),
        skipped: restored.skipped,
        ...(restored.network === undefined ? {} : { network: restored.network }),
      };
      for (const skip of restored.skipped)
        log.warn(`skipped ${skip.name}: ${skip.reason}; fell back to an older checkpoint`);
      options.gate?.restored(restored.pid, restored.name);
      log.info(`restored ${restored.name} (chain of ${restored.chainLength}): pid ${restored.pid}`, {
        ms: result.trigger_to_restored_ms,
        run: restored.run,
        why: restored.runReason,
      });
    } catch (error) {
      const why = splitBrainHint(errorMessage(error), decision.reason);
      const refused = error instanceof StaleRestoreError;
      result = { ok: false, ...base, error: why, ...(refused ? { refused: 'stale-checkpoint' as const } : {}) };
      await options.gate?.failed();
      if (refused)
        log.warn(
          `NOT FAILING OVER: ${why}. Nothing was restored; the lease was released. Recover the primary host's workload, or run remusd failover by hand once it is understood`,
        );
      else
        log.warn(
          `automatic failover failed; it will not be retried (run remusd failover by hand once the cause is fixed): ${why}`,
        );
    }
    await writeFailoverReport(dir, result);
    return result;
  };

  return {
    observe(event) {
      const now = performance.now();
      if (waiting !== undefined && waiting.reason === 'silence' && event.type === 'heard') waiting.cancelled = true;
      decide(trigger.observe(event, now), now);
    },
    start(target) {
      receiver = target;
      timer = setInterval(tick, options.tickMs ?? 50);
    },
    attempted,
    stop: () => {
      halted = true;
      clearInterval(timer);
    },
  };
}

// On one machine, a restore while the primary's workload still runs (silence from a dead shipper, not a
// dead workload) collides with its pid: say so next to CRIU's own words.
function splitBrainHint(message: string, reason: FailoverReason): string {
  if (reason !== 'silence' || !/File exists|EEXIST|already (exists|in use)|Can't fork for/i.test(message))
    return message;
  return (
    "the checkpoint's pid is in use on this machine: the primary's workload is probably still alive (only its shipper went silent), " +
    `so restoring here would be a split brain. CRIU said: ${message}`
  );
}
