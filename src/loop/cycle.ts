// The supervisor loop's decisions, synchronous and in one place: reload, chain planning, the step (the
// unmeasured-checkpoint rule and the policy), retention, back-off, compaction's bookkeeping, the facts and
// the record. Whoever drives it does the I/O around it, in this order for each checkpoint:
//
//   compactionEnded → (alive?) → [probePlan → probeStart] → begin → take → failed, or taken → finish →
//   remove doomed, nextCompaction
//
// With the dirty-size probe on, the wait before `begin` reads the workload's touched memory at the instants
// of probePlan's plan (probe-rule.ts) and starts early once the estimate reaches the aim; the cycle learns
// the ratio of what a checkpoint stored to the reading it started on (reads set the accessed bits too).
//
// `supervise()` (supervisor.ts) drives it with CRIU and the real clock, waiting for each promise; the simulator
// (src/sim/model-loop.ts) with a model and a virtual clock in a plain loop: both decide here, and alike.

import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';
import { pagesSizeBytes } from '../model/stats.js';
import type { StoredCheckpoint } from '../store/chain.js';
import type { ShippedCompaction } from '../store/shipped-compaction.js';
import { ChainPlan, type ChainChoice } from './chain-plan.js';
import type { CheckpointFailed, CheckpointRequest, CheckpointResult, CompactionOutcome } from './checkpointer.js';
import { blankFacts, checkpointRecord, round } from './checkpoint-record.js';
import { PolicyInForce } from './policy-in-force.js';
import { LearnedRatio } from './probe-ratio.js';
import {
  blankPlan,
  PROBE_LAG_MAX_MS,
  PROBE_LAG_WINDOW,
  predictedLevel,
  probeAimBytes,
  probeFloorBytes,
  probePeriodMs,
  readingRate,
  type ProbePlan,
  type ProbeTrigger,
} from './probe-rule.js';
import { RecentMedian } from './recent-median.js';
import { NO_DECISION, stepInPlace, unmeasured, type CheckpointOutcome, type StepDecision } from './step.js';
import type { SupervisorDeps, SupervisorExit, SupervisorSettings, Target } from './supervisor-deps.js';

/** What the cycle needs from the supervisor's dependencies (no I/O among them). */
type CycleNeeds = 'mode' | 'pageSize' | 'initialIntervalMs' | 'settings' | 'records' | 'events';
export interface CycleDeps extends Pick<SupervisorDeps, CycleNeeds> {
  /** Whether a compaction runner is there (its rule then applies to the chain plan). */
  compacting: boolean;
}

/** A successful checkpoint, as the loop's checkpointer reports it. */
export type TakenCheckpoint = Extract<CheckpointResult, { ok: true }>;

/** The state of the loop from one checkpoint to the next, and the decisions that change it. */
export class LoopCycle {
  /** The checkpoints on disk and the chain rules. */
  readonly #chains: ChainPlan;
  #seq: number;
  #settings: SupervisorSettings;
  readonly #policy: PolicyInForce;
  // Times start as NaN, a double, before the constructor sets them: a field whose first value is a small integer
  // (0, 500) holds each later fractional time as a new heap object (measured: an allocation and a write barrier
  // per simulated checkpoint for #nextStartAtMs).
  #intervalMs = Number.NaN;
  #nextStartAtMs = Number.NaN;
  // NaN, not undefined, for "none yet" here and in #elapsedMs: a field that holds only numbers is rewritten in
  // place, where one that may hold undefined boxes each new number (an allocation per checkpoint).
  #lastStartAtMs = Number.NaN;
  #consecutiveFailures = 0;
  #checkpoints = 0;
  #compacted: CheckpointRecord['compacted'];
  // The checkpoint in progress: its plan, start, result and decision.
  #chain: ChainChoice = { parent: undefined, reason: '' };
  #startedAtMs = Number.NaN;
  #startedWallMs = Number.NaN;
  #result: TakenCheckpoint | undefined;
  // The step's decision, rewritten for each checkpoint (the decision in it is the decider's, valid until the next).
  readonly #step: StepDecision = { decision: NO_DECISION, nextStartAtMs: 0, overrun: false };
  #elapsedMs = Number.NaN;
  #pagesWritten = 0;
  #sizeBytes = 0;
  #chainStart = false;
  // The probe: the plan of the wait in progress, the learned bytes stored per byte read (a read-heavy
  // workload touches more than it writes), and the reading, estimate and trigger the checkpoint started on.
  readonly #plan: ProbePlan = blankPlan();
  readonly #probeRatio = new LearnedRatio();
  // The accessed bits are cleared once CRIU lets go (probeReset): what is written between the previous freeze
  // and then is in the next checkpoint but not in the readings. Each reading is scaled by the window up to its
  // instant over the part of it it covers (readingScale in probe-rule.ts: the rate taken as constant), and
  // what the rate since the previous reading writes in the learned lag to the freeze is added (lagMs there).
  #probeResetMs = Number.NaN;
  // Milliseconds from the reading a checkpoint started on to its freeze: the median of the newest few.
  readonly #probeLag = new RecentMedian(0, 0, PROBE_LAG_MAX_MS, PROBE_LAG_WINDOW);
  // The window of the next checkpoint begins at the previous one's freeze (its start + the checkpointer's
  // freezeAfterMs; the simulator's model freezes as it starts).
  #freezeMs = Number.NaN;
  #lastFreezeMs = Number.NaN;
  #probeReadMs = Number.NaN;
  #probeLevel = Number.NaN;
  #probeReading = Number.NaN;
  #probeEstimate = Number.NaN;
  #probeTrigger: ProbeTrigger | null = null;
  readonly #request: CheckpointRequest = {
    seq: 0,
    parent: undefined,
    logLevel: 0,
    extraArgs: [],
    timeoutMs: 0,
    onDumped: undefined,
  };
  readonly #wantRecords: boolean;
  // One facts object, rewritten for each checkpoint (SupervisorEvents.facts): its numbers then change in place
  // and a simulated checkpoint allocates nothing for them.
  readonly #facts: CheckpointFacts;
  // The observation and outcome the step is shown, rewritten likewise (Observation says why a policy may).
  readonly #checkpoint: CheckpointOutcome = {
    observation: { seq: 0, intervalMs: 0, elapsedMs: 0, sizeBytes: 0, pagesWritten: 0, frozenUs: 0, pageSize: 0 },
    unmeasured: undefined,
    startedAtMs: 0,
    finishedAtMs: 0,
  };

  // The dependencies, each in a field of its own rather than the object they came in: callers build that object
  // with a spread, whose hidden class differed from one simulated run to the next, and every new run then threw
  // the loop's optimized code away (V8's "wrong map" deopts; measured: a run's first 27 k checkpoints at
  // 0.2–0.6× the speed of later runs' while it re-optimized).
  readonly #mode: CycleDeps['mode'];
  readonly #pageSize: number;
  readonly #settingsOf: CycleDeps['settings'];
  readonly #records: CycleDeps['records'];
  readonly #events: CycleDeps['events'];
  readonly #compacting: boolean;

  constructor(
    deps: CycleDeps,
    opened: { stored: readonly StoredCheckpoint[]; previous: StoredCheckpoint | undefined },
    nowMs: number,
  ) {
    this.#mode = deps.mode;
    this.#pageSize = deps.pageSize;
    this.#settingsOf = deps.settings;
    this.#records = deps.records;
    this.#events = deps.events;
    this.#compacting = deps.compacting;
    this.#settings = deps.settings();
    this.#chains = new ChainPlan(opened, this.#settings.retention);
    this.#seq = this.#chains.highestSeq;
    this.#policy = new PolicyInForce(this.#settings);
    this.#intervalMs = deps.initialIntervalMs;
    this.#nextStartAtMs = nowMs;
    this.#wantRecords = deps.records !== undefined || deps.events.record !== undefined;
    this.#facts = blankFacts(this.#settings.band);
  }

  /** When the next checkpoint is due (monotonic ms). */
  get nextStartAtMs(): number {
    return this.#nextStartAtMs;
  }

  /** Whether the settings in force ask for the dirty-size probe. */
  get probing(): boolean {
    return this.#settings.probe !== undefined;
  }

  /** Checkpoints taken so far. */
  get checkpoints(): number {
    return this.#checkpoints;
  }

  /**
   * The probed wait before the next checkpoint (the same object, rewritten), or undefined when there is none:
   * the probe is off, no checkpoint was taken yet, the last attempt failed (back-off), or the next is due now.
   */
  probePlan(nowMs: number): ProbePlan | undefined {
    this.#probeReading = Number.NaN;
    this.#probeEstimate = Number.NaN;
    this.#probeTrigger = null;
    const probe = this.#settings.probe;
    const fromMs = this.#lastStartAtMs;
    const deadlineMs = this.#nextStartAtMs;
    if (probe === undefined || Number.isNaN(fromMs) || this.#consecutiveFailures > 0 || !(deadlineMs > nowMs))
      return undefined;
    const { band } = this.#settings;
    const plan = this.#plan;
    const windowFromMs = Number.isNaN(this.#lastFreezeMs) ? fromMs : Math.min(this.#lastFreezeMs, nowMs);
    plan.fromMs = windowFromMs;
    plan.beganMs = nowMs;
    plan.periodMs = probePeriodMs(this.#intervalMs, probe);
    plan.deadlineMs = deadlineMs;
    plan.latestMs = probe.defer ? Math.max(deadlineMs, fromMs + band.maxMs) : deadlineMs;
    const resetMs = this.#probeResetMs;
    // The readings cover [reset, t) of the window [from, t); a reset not seen (none yet) counts as at from.
    plan.seenFromMs = Number.isNaN(resetMs) ? windowFromMs : Math.min(Math.max(resetMs, windowFromMs), nowMs);
    const ratio = this.#probeRatio.value;
    plan.aimLevel = probeAimBytes(band, probe) / ratio;
    plan.floorLevel = probeFloorBytes(band, probe) / ratio;
    plan.lminLevel = band.lminBytes / ratio;
    plan.lmaxLevel = band.lmaxBytes / ratio;
    plan.lagMs = this.#probeLag.value;
    // The first reading's rate is the one since the reset, which reads 0.
    plan.lastAtMs = plan.seenFromMs;
    plan.lastReading = 0;
    return plan;
  }

  /** The probe's accessed bits were cleared now (once CRIU let go of the workload). */
  probeReset(nowMs: number): void {
    this.#probeResetMs = nowMs;
  }

  /** The probed wait ended (probe-rule.ts says when): the checkpoint starts on this reading, taken at atMs. */
  probeStart(trigger: ProbeTrigger, readingBytes: number, atMs: number): void {
    const plan = this.#plan;
    const level = predictedLevel(plan, atMs, readingBytes, readingRate(plan, atMs, readingBytes));
    this.#probeTrigger = trigger;
    this.#probeReading = readingBytes;
    this.#probeReadMs = atMs;
    this.#probeLevel = level;
    this.#probeEstimate = level * this.#probeRatio.value;
  }

  /** A compaction that ended since the last checkpoint (if one did): its link replaces the old one. */
  compactionEnded(finished: CompactionOutcome | undefined): void {
    if (finished === undefined) return;
    const events = this.#events;
    if (!finished.ok) {
      events.warn(`could not compact ${finished.target.name} (its chain is left as it was): ${finished.reason}`, {
        checkpoint: finished.target.name,
      });
      return;
    }
    this.#chains.compacted(finished.compacted);
    const compacted = {
      name: finished.target.name,
      links: finished.links,
      bytes_written: finished.bytesWritten,
      ms: round(finished.elapsedMs),
    };
    this.#compacted = compacted;
    events.info?.(
      `compacted ${compacted.name}: ${compacted.links} links flattened into a base (${compacted.bytes_written} bytes written, ${compacted.ms} ms)`,
      { checkpoint: compacted.name, links: compacted.links, bytes_written: compacted.bytes_written },
    );
  }

  /** How the loop ends when the workload has gone. */
  exited(target: Target): SupervisorExit {
    return {
      reason: 'workload-exited',
      checkpoints: this.#checkpoints,
      status: target.exitStatus(),
      exitCode: target.exitCode(),
    };
  }

  /**
   * The next checkpoint starts: settings are read (a new policy starts afresh), its chain planned, asked for.
   * The request is one object, rewritten by each begin (both drivers are done with it by then).
   */
  begin(startedAtMs: number, startedWallMs: number, onDumped: CheckpointRequest['onDumped']): CheckpointRequest {
    const settings = this.#settingsOf();
    this.#settings = settings;
    if (this.#policy.follow(settings))
      this.#events.info?.(`policy changed to ${settings.policyKey}: starting it from a fresh state`);
    this.#startedAtMs = startedAtMs;
    this.#startedWallMs = startedWallMs;
    this.#seq += 1;
    this.#chain = this.#chains.plan(settings, this.#mode, this.#compacting);
    const request = this.#request;
    request.seq = this.#seq;
    request.parent = this.#chain.parent;
    request.logLevel = settings.criu.logLevel;
    request.extraArgs = settings.criu.extraArgs;
    request.timeoutMs = settings.criu.timeoutMs;
    request.onDumped = onDumped;
    return request;
  }

  /** A failed attempt: a new chain after the back-off, or the exit after failures.maxConsecutive in a row. */
  failed(result: CheckpointFailed, nowMs: number): SupervisorExit | undefined {
    const { failures } = this.#settings;
    this.#consecutiveFailures += 1;
    const inARow = this.#consecutiveFailures;
    this.#chains.failed();
    this.#events.failure(
      this.#seq,
      `checkpoint ${this.#seq} failed (${inARow} in a row): ${result.reason}`,
      result.logTail,
    );
    if (inARow >= failures.maxConsecutive) {
      return {
        reason: 'failures',
        checkpoints: this.#checkpoints,
        message: `${inARow} checkpoints failed in a row; last: ${result.reason}\n${result.logTail}`,
      };
    }
    this.#nextStartAtMs = nowMs + backoffMs(inARow, failures);
    return undefined;
  }

  /** The checkpoint is done: the step decides, retention returns what to delete (already off the list). */
  taken(result: TakenCheckpoint, doneAtMs: number): readonly StoredCheckpoint[] {
    this.#consecutiveFailures = 0;
    const mode = this.#mode;
    const pageSize = this.#pageSize;
    const settings = this.#settings;
    const startedAtMs = this.#startedAtMs;
    const intervalMs = this.#intervalMs;
    const elapsedMs = startedAtMs - this.#lastStartAtMs; // NaN for the first checkpoint of the run
    const firstOfRun = Number.isNaN(elapsedMs);
    // What this checkpoint had to store: CRIU's count, or in delta mode the pages that changed (shared
    // memory stays as CRIU wrote it, so its pages count in full).
    const { delta, stats } = result;
    const pagesWritten = delta === undefined ? stats.pages_written : delta.changedPages;
    const sizeBytes = pagesSizeBytes(pagesWritten, stats.shpages_written, pageSize);
    const chainStart = mode !== 'full' && result.stored.parentSeq === undefined;
    const checkpoint = this.#checkpoint;
    const { observation } = checkpoint;
    observation.seq = this.#seq;
    observation.intervalMs = intervalMs;
    observation.elapsedMs = firstOfRun ? intervalMs : elapsedMs;
    observation.sizeBytes = sizeBytes;
    observation.pagesWritten = pagesWritten + (stats.shpages_written ?? 0);
    observation.frozenUs = stats.frozen_time;
    observation.pageSize = pageSize;
    checkpoint.unmeasured = unmeasured(mode, chainStart, pagesWritten, firstOfRun);
    checkpoint.startedAtMs = startedAtMs;
    checkpoint.finishedAtMs = doneAtMs;
    stepInPlace(this.#policy.decider, intervalMs, checkpoint, settings.band, this.#step);
    const freezeMs = startedAtMs + (result.freezeAfterMs ?? 0);
    this.#freezeMs = freezeMs;
    if (this.#probeTrigger !== null) {
      this.#probeLag.add(freezeMs - this.#probeReadMs);
      // Bytes stored per byte predicted from the reading, from each measured checkpoint that started on one.
      if (checkpoint.unmeasured === undefined) this.#probeRatio.observe(sizeBytes, this.#probeLevel);
    }
    this.#result = result;
    this.#elapsedMs = elapsedMs;
    this.#pagesWritten = pagesWritten;
    this.#sizeBytes = sizeBytes;
    this.#chainStart = chainStart;
    return this.#chains.added(result.stored, settings.retention.keep);
  }

  /** The checkpoint is safe (fsync, output commit: counted as overhead): its facts and record go out, and on. */
  finish(finishedAtMs: number, outputFields: Record<string, unknown> | undefined): void {
    const result = this.#result;
    const outcome = this.#step;
    if (result === undefined) throw new Error('finish() before taken()');
    const events = this.#events;
    const records = this.#records;
    const { band } = this.#settings;
    const startedAtMs = this.#startedAtMs;
    const deltaMs = result.delta?.elapsedMs ?? 0;
    const elapsedMs = this.#elapsedMs;
    const compacted = this.#compacted;
    // The checkpoint's numbers, for summaries (events.facts) and the record alike.
    const facts = this.#facts;
    facts.seq = this.#seq;
    facts.startMs = this.#startedWallMs;
    facts.band = band;
    facts.chainStart = this.#chainStart;
    facts.intervalMs = round(this.#intervalMs);
    facts.nextIntervalMs = round(outcome.decision.nextIntervalMs);
    facts.elapsedMs = round(elapsedMs); // NaN stays NaN: the first checkpoint of a run
    facts.decision = outcome.decision.decision;
    facts.pagesWritten = this.#pagesWritten;
    facts.sizeBytes = this.#sizeBytes;
    facts.frozenUs = result.stats.frozen_time;
    facts.criuWallMs = round(result.criuWallMs);
    facts.supervisorOverheadMs = round(finishedAtMs - startedAtMs - result.criuWallMs - deltaMs);
    facts.overrun = outcome.overrun;
    facts.compactedBytes = compacted === undefined ? null : compacted.bytes_written;
    facts.probeTrigger = this.#probeTrigger;
    events.facts?.(facts);
    if (this.#wantRecords) {
      const record = checkpointRecord(facts, {
        mode: this.#mode,
        policy: this.#settings.policy.kind,
        reason: outcome.decision.reason,
        result,
        chain: this.#chain,
        deltaMs,
        compacted,
        outputFields,
        probe:
          this.#probeTrigger === null
            ? null
            : {
                trigger: this.#probeTrigger,
                reading_bytes: Math.round(this.#probeReading),
                estimate_bytes: Math.round(this.#probeEstimate),
                ratio: Math.round(this.#probeRatio.value * 1000) / 1000,
              },
      });
      records?.append(record);
      events.record?.(record, band);
    }
    this.#compacted = undefined;
    this.#checkpoints += 1;
    this.#lastStartAtMs = startedAtMs;
    this.#lastFreezeMs = this.#freezeMs;
    this.#intervalMs = outcome.decision.nextIntervalMs;
    this.#nextStartAtMs = outcome.nextStartAtMs;
    this.#result = undefined;
  }

  /** The link to compact now, if the chain is long enough (ask only while no compaction runs). */
  nextCompaction(): StoredCheckpoint | undefined {
    return this.#chains.nextCompaction();
  }

  /** nextCompaction's pick, moved to a link the backup holds (seq backupHolds and its chain) when it lacks that one. */
  compactionForBackup(usual: StoredCheckpoint, backupHolds: number): ShippedCompaction {
    return this.#chains.shippedCompaction(usual, backupHolds);
  }
}

/** The wait after the n-th failure in a row (n ≥ 1): initial × 2^(n−1), at most max. */
export function backoffMs(failuresInARow: number, failures: SupervisorSettings['failures']): number {
  return Math.min(failures.backoffInitialMs * 2 ** (failuresInARow - 1), failures.backoffMaxMs);
}
