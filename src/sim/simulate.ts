// The simulator: the supervisor's loop with CRIU replaced by a workload model and a cost model, and the
// real clock by a virtual one. It drives the same pure step (src/loop/step.ts) and the same policies
// (src/policy/) as `remusd run`, so what it shows is what the supervisor would decide. Pure: the same
// input (including the workload's seed) gives the same records, byte for byte.
//
// Timeline: the workload starts at virtual time 0 and the first checkpoint starts one initial interval
// later. Every checkpoint stores the pages dirtied since the previous checkpoint's start (the first: since
// 0), as in modes dump and delta after a chain's first link; chain starts are not modelled. The workload
// keeps dirtying while it is frozen (the dirtier catches up on wall time), so sizes depend on start-to-
// start times only. A checkpoint that takes longer than the interval in force overruns: the next one
// starts as soon as it ends, exactly as step() schedules it.

import { step, type LoopState } from '../loop/step.js';
import type { Band } from '../model/policy.js';
import type { CheckpointRecord } from '../model/record.js';
import { createPolicy, type PolicySpec } from '../policy/index.js';
import { VirtualClock } from './clock.js';
import { checkpointCost, validateCost, type CostModel } from './cost.js';
import type { Workload } from './workload.js';

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
  /** Wall-clock time of virtual 0, for the records' `start`; default 1970-01-01T00:00:00Z. */
  epoch?: Date;
}

/** One simulated checkpoint: a records.jsonl line as `remusd run` writes it, with mode 'sim'. */
export interface SimRecord extends CheckpointRecord {
  mode: 'sim';
  elapsed_ms: number;
  /** Virtual ms since the workload started (sim only). */
  at_ms: number;
}

/** Runs the policy against the workload for durationMs of virtual time; throws a RangeError on bad input. */
export function simulate(input: SimulationInput): SimRecord[] {
  const { band, workload, pageSize, durationMs, initialIntervalMs } = input;
  if (!Number.isInteger(pageSize) || pageSize <= 0) throw new RangeError(`page size ${pageSize} must be a positive integer`);
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`duration ${durationMs} ms must be finite and > 0`);
  if (!(initialIntervalMs > 0) || !Number.isFinite(initialIntervalMs)) throw new RangeError(`initial interval ${initialIntervalMs} ms must be finite and > 0`);
  const cost = validateCost(input.cost);
  const policy = createPolicy(input.policy);
  const clock = new VirtualClock(input.epoch);
  const records: SimRecord[] = [];
  let state: LoopState = { intervalMs: initialIntervalMs, policyState: policy.initialState() };
  let lastStartAtMs = 0;
  let nextStartAtMs = initialIntervalMs;
  for (let seq = 1; nextStartAtMs < durationMs; seq++) {
    clock.advanceTo(nextStartAtMs);
    const startedAtMs = clock.now();
    const start = clock.wallNow().toISOString();
    const pages = workload.pages(lastStartAtMs, startedAtMs);
    const { frozenUs, criuWallMs } = checkpointCost(cost, pages);
    clock.advance(criuWallMs);
    const outcome = step(
      policy,
      state,
      {
        observation: {
          seq,
          intervalMs: state.intervalMs,
          elapsedMs: startedAtMs - lastStartAtMs,
          sizeBytes: pages * pageSize,
          pagesWritten: pages,
          frozenUs,
          pageSize,
        },
        unmeasured: undefined,
        startedAtMs,
        finishedAtMs: clock.now(),
      },
      band,
    );
    records.push({
      seq,
      start,
      mode: 'sim',
      interval_ms: round(state.intervalMs),
      next_interval_ms: round(outcome.decision.nextIntervalMs),
      decision: outcome.decision.decision,
      reason: outcome.decision.reason,
      pages_scanned: pages,
      pages_written: pages,
      pages_skipped_parent: 0,
      size_bytes: pages * pageSize,
      frozen_us: frozenUs,
      criu_wall_ms: round(criuWallMs),
      supervisor_overhead_ms: 0,
      overrun: outcome.overrun,
      dir: '',
      elapsed_ms: round(startedAtMs - lastStartAtMs),
      at_ms: round(startedAtMs),
    });
    if (!(outcome.nextStartAtMs > startedAtMs)) {
      throw new RangeError(`policy ${policy.kind} scheduled checkpoint ${seq + 1} at ${outcome.nextStartAtMs} ms, not after ${startedAtMs} ms`);
    }
    lastStartAtMs = startedAtMs;
    state = outcome.state;
    nextStartAtMs = outcome.nextStartAtMs;
  }
  return records;
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
