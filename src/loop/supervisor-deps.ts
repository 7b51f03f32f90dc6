// The supervisor's contract: what the loop takes (settings, target, events, the injected checkpointer and
// clock) and how it ends. Kept apart from the loop so the CLI, the simulator and the tests that only wire
// a supervisor up need not read the loop itself.

import type { OutputFence } from '../gate/gate.js';
import type { Band, Policy } from '../model/policy.js';
import type { CheckpointFacts, CheckpointRecord, RecordMode } from '../model/record.js';
import type { Checkpointer } from './checkpointer.js';
import type { Clock } from './clock.js';
import type { CompactionRunner } from './compactor.js';
import type { MaybePromise } from './drive.js';
import type { ProbeSettings } from './probe-rule.js';
import type { RecordSink } from './records.js';

/** What the supervisor needs from the (hot-reloadable) configuration, already resolved. */
export interface SupervisorSettings {
  band: Band;
  /** Identifies the policy and its parameters: a change of key makes a fresh policy (and state). */
  policyKey: string;
  policy: Policy;
  /** compact: mode delta flattens old links in the background once a chain has compactAt links (absent: off). */
  retention: {
    keep: number;
    newChainEvery: number;
    maxChainBytes: number | undefined;
    compact?: boolean;
    compactAt?: number;
  };
  criu: { logLevel: number; extraArgs: readonly string[]; timeoutMs: number };
  failures: { maxConsecutive: number; backoffInitialMs: number; backoffMaxMs: number };
  /** The dirty-size probe (probe-rule.ts), when on and the loop has a probe (SupervisorDeps.probe). */
  probe?: ProbeSettings | undefined;
}

/**
 * Reads how much memory the workload touched since the last reset, without stopping or freezing it
 * (src/process/dirty-probe.ts reads the accessed bits). The loop resets it once CRIU lets go of the workload
 * (CRIU's own walk over the pages sets them all).
 */
export interface DirtyProbe {
  reset(): MaybePromise<void>;
  /** Bytes touched since the last reset. */
  read(): MaybePromise<number>;
}

/** The workload being supervised. */
export interface Target {
  pid: number;
  /** A plain boolean when it can tell at once (a simulated workload): the loop then does not wait. */
  alive(): MaybePromise<boolean>;
  /** How it ended, once it has (for workloads we started: the exit code or signal). */
  exitStatus(): string;
  /** Its exit code, when it exited by itself and we could see it (undefined: unknown, or killed by a signal). */
  exitCode(): number | undefined;
}

export interface SupervisorEvents {
  /**
   * Progress worth a log line (a compaction done, a policy changed). Leave it out where nobody reads them (a
   * simulation): the loop then writes none (a compaction's line cost ~1.2 µs to write, one per ~13 checkpoints).
   */
  info?(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  /** A checkpoint attempt failed (it will be retried unless too many failed in a row). */
  failure(seq: number, reason: string, logTail: string): void;
  /**
   * A checkpoint was recorded; band is the one its decision was taken against. Without this hook and
   * without deps.records no record is built (its texts cost more than the rest of a simulated checkpoint).
   */
  record?(record: CheckpointRecord, band: Band): void;
  /**
   * A checkpoint's numbers (what summaries and scores need), for every checkpoint. The same object each time,
   * rewritten for the next checkpoint: copy what you keep (a fresh one per checkpoint cost a simulation ~10 %).
   */
  facts?(facts: CheckpointFacts): void;
}

export interface SupervisorDeps {
  /** Takes the checkpoints: CRIU (criu-checkpointer.ts) or a workload model (src/sim). */
  checkpointer: Checkpointer;
  /**
   * Runs compactions (with retention.compact): a model in virtual time for a simulation. Default: in mode
   * delta, a Compactor over checkpointer.compact, when the checkpointer has it.
   */
  compactor?: CompactionRunner | undefined;
  /** What the records call the mode; 'full' means every checkpoint is the whole memory (never a chain). */
  mode: RecordMode;
  pageSize: number;
  initialIntervalMs: number;
  target: Target;
  settings: () => SupervisorSettings;
  /** Where records go; undefined: only to events.record. */
  records: RecordSink | undefined;
  events: SupervisorEvents;
  clock: Clock;
  /** Aborting ends the loop after the checkpoint in progress (CRIU is never interrupted). */
  signal: AbortSignal;
  /** Output commit, when enabled. A failure of the gate ends the loop (the workload's output stays held). */
  output?: OutputFence | undefined;
  /** The dirty-size probe, used while settings().probe is set; undefined: the loop waits for the interval. */
  probe?: DirtyProbe | undefined;
  /** False once the workload is fenced (src/fence/): the loop ends after the checkpoint in progress. */
  mayPublish?: () => boolean;
  /**
   * The newest seq whose whole chain the backup holds (`remusd ship`'s mark: src/store/shipped-mark.ts), read
   * when a compaction is due; undefined: no shipper to wait for, compaction flattens its usual link.
   */
  backupHolds?: () => number | undefined;
}

export type SupervisorExit =
  | { reason: 'stopped'; checkpoints: number }
  | { reason: 'workload-exited'; checkpoints: number; status: string; exitCode: number | undefined }
  | { reason: 'failures'; checkpoints: number; message: string };
