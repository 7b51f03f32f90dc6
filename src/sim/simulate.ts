// The simulator: the supervisor's own loop (LoopCycle, src/loop/cycle.ts, driven by model-loop.ts) with CRIU
// replaced by a workload model and a cost model (model-checkpointer.ts), and the real clock by a virtual one.
// What it shows is what the supervisor would decide: chain planning, retention, the unmeasured first
// checkpoint and chain starts, the policy and the step are the same code. Deterministic: the same input (including the workload's seed) gives
// the same records, byte for byte.
//
// Timeline: the workload starts at virtual time 0, and so does the first checkpoint (a chain start, as in
// `remusd run`). A checkpoint that takes longer than the interval in force overruns: the next one starts as
// soon as it ends. The simulated workload "exits" at durationMs: checkpoints start strictly before it.

import type { ProbeSettings } from '../loop/probe-rule.js';
import type { SupervisorSettings } from '../loop/supervisor-deps.js';
import type { Band } from '../model/policy.js';
import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';
import { aimRuleOf, createPolicy, type PolicySpec } from '../policy/index.js';
import { VirtualClock } from './clock.js';
import { validateCost, type CostModel } from './cost.js';
import { modelCheckpointer } from './model-checkpointer.js';
import { runModelLoop } from './model-loop.js';
import { mulberry32 } from './random.js';
import type { Workload } from './workload.js';

/** Chain and retention rules of a simulation (the config's checkpoint.retention). */
export type SimRetention = SupervisorSettings['retention'];

/** The config's defaults: keep 5, a new chain every 20 checkpoints. */
export const DEFAULT_SIM_RETENTION: Readonly<SimRetention> = Object.freeze({
  keep: 5,
  newChainEvery: 20,
  maxChainBytes: undefined,
  compact: true,
  compactAt: 16,
});

/** The dirty-size probe of a simulation: its settings but the aim (the policy's), and a read share. */
export type SimProbe = Omit<ProbeSettings, 'target'> & { readShare?: number };

/** Everything a simulation depends on. */
export interface SimulationInput {
  policy: PolicySpec;
  band: Band;
  initialIntervalMs: number;
  workload: Workload;
  cost: CostModel;
  /** Simulated time; checkpoints start strictly before it. */
  durationMs: number;
  pageSize: number;
  /** Chain rules; default DEFAULT_SIM_RETENTION. */
  retention?: SimRetention;
  /** Pages a chain start writes; default the workload's working set (0 when it has none). */
  memoryPages?: number;
  /** Wall-clock time of virtual 0, for the records' `start`; default 1970-01-01T00:00:00Z. */
  epoch?: Date;
  /**
   * The dirty-size probe (src/loop/probe-rule.ts; it aims where the policy does), and the share of touched
   * pages that are only read; default off.
   */
  probe?: SimProbe | undefined;
  /**
   * How late each checkpoint starts after its wait, ms: drawn with the seed from these samples (a trace's
   * lateStartsMs: the real loop's timer and event loop); default none, every start on time.
   */
  startLate?: { samplesMs: readonly number[]; seed: number } | undefined;
}

/**
 * Runs the policy against the workload for durationMs of virtual time, handing each record to onRecord and
 * each checkpoint's numbers to onFacts. Without onRecord no record is built: summaries and scores need
 * only the facts, and building records (their texts above all) made most of a simulation's time.
 */
// Async (one promise per run, never per checkpoint): bad input rejects, as it did when the loop ran here.
export async function runSimulation(
  input: SimulationInput,
  onRecord: ((record: CheckpointRecord) => void) | undefined,
  onFacts?: (facts: CheckpointFacts) => void,
): Promise<number> {
  const { band, workload, pageSize, durationMs, initialIntervalMs } = input;
  if (!Number.isInteger(pageSize) || pageSize <= 0)
    throw new RangeError(`page size ${pageSize} must be a positive integer`);
  if (!(durationMs > 0) || !Number.isFinite(durationMs))
    throw new RangeError(`duration ${durationMs} ms must be finite and > 0`);
  if (!(initialIntervalMs > 0) || !Number.isFinite(initialIntervalMs))
    throw new RangeError(`initial interval ${initialIntervalMs} ms must be finite and > 0`);
  const memoryPages = input.memoryPages ?? (Number.isFinite(workload.workingSetPages) ? workload.workingSetPages : 0);
  if (!(memoryPages >= 0) || !Number.isFinite(memoryPages))
    throw new RangeError(`memory ${memoryPages} pages must be a finite number ≥ 0`);
  const cost = validateCost(input.cost);
  const lateMs = lateDraws(input.startLate);
  const policy = createPolicy(input.policy);
  const clock = new VirtualClock(input.epoch, lateMs);
  const settings: SupervisorSettings = {
    band,
    policyKey: policy.kind,
    policy,
    retention: input.retention ?? DEFAULT_SIM_RETENTION,
    criu: { logLevel: 0, extraArgs: [], timeoutMs: Number.POSITIVE_INFINITY },
    failures: { maxConsecutive: 1, backoffInitialMs: 0, backoffMaxMs: 0 },
    probe: input.probe === undefined ? undefined : { ...input.probe, target: aimRuleOf(input.policy) },
  };
  const checkpointer = modelCheckpointer({
    workload,
    cost,
    clock,
    pageSize,
    memoryPages,
    compaction: settings.retention.compact === true,
    probe: input.probe,
  });
  return runModelLoop({
    checkpointer,
    mode: 'sim',
    pageSize,
    initialIntervalMs,
    settings: () => settings,
    records: undefined,
    events: {
      warn: () => undefined,
      failure: () => undefined,
      ...(onRecord === undefined ? {} : { record: (record: CheckpointRecord) => onRecord(record) }),
      ...(onFacts === undefined ? {} : { facts: onFacts }),
    },
    clock,
    endMs: durationMs,
    // Present, not left out: a property missing from the first run's object made the loop's first optimized code
    // deoptimize at the next run's start.
    signal: undefined,
  });
}

// Each start's lateness, drawn uniformly from the samples with the seed (undefined: none); RangeError for bad ones.
function lateDraws(late: SimulationInput['startLate']): (() => number) | undefined {
  if (late === undefined) return undefined;
  const { samplesMs, seed } = late;
  for (const ms of samplesMs)
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`a late start of ${ms} ms must be finite and ≥ 0`);
  if (!Number.isInteger(seed)) throw new RangeError(`late starts' seed ${seed} must be an integer`);
  if (samplesMs.length === 0) return undefined;
  const random = mulberry32(seed);
  return () => samplesMs[Math.floor(random() * samplesMs.length)] ?? 0;
}

/** runSimulation, with the records collected (for small runs and tests; long runs should stream). */
export async function simulate(input: SimulationInput): Promise<CheckpointRecord[]> {
  const records: CheckpointRecord[] = [];
  await runSimulation(input, (record) => records.push(record));
  return records;
}
