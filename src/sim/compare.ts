// Policy comparison: every policy over the same workloads (one per seed), summarized side by side.

import type { Band } from '../model/policy.js';
import type { PolicySpec } from '../policy/index.js';
import type { CostModel } from './cost.js';
import { simulate } from './simulate.js';
import { summarizeSim, type SimSummary } from './summary.js';
import type { Workload } from './workload.js';

/** What a comparison runs: each policy × each seed's workload, everything else shared. */
export interface ComparisonInput {
  policies: readonly PolicySpec[];
  seeds: readonly number[];
  /** The workload for a seed; the same seed gives every policy the same workload. */
  workloadFor(seed: number): Workload;
  band: Band;
  initialIntervalMs: number;
  cost: CostModel;
  durationMs: number;
  pageSize: number;
}

/** One policy's result: its spec and the summary of its runs (undefined if no checkpoint fitted in). */
export interface ComparisonRow {
  policy: PolicySpec;
  summary: SimSummary | undefined;
}

/** Runs every policy on every seed's workload and summarizes each policy's runs together. */
export function comparePolicies(input: ComparisonInput): ComparisonRow[] {
  if (input.seeds.length === 0) throw new RangeError('a comparison needs at least one seed');
  if (input.policies.length === 0) throw new RangeError('a comparison needs at least one policy');
  const workloads = input.seeds.map((seed) => input.workloadFor(seed));
  return input.policies.map((policy) => {
    const runs = workloads.map((workload) =>
      simulate({
        policy,
        band: input.band,
        initialIntervalMs: input.initialIntervalMs,
        workload,
        cost: input.cost,
        durationMs: input.durationMs,
        pageSize: input.pageSize,
      }),
    );
    return { policy, summary: summarizeSim(runs, input.band, input.durationMs) };
  });
}
