// Policy comparison: every policy over the same workloads (one per seed), summarized side by side.

import type { Band } from '../model/policy.js';
import type { PolicySpec } from '../policy/index.js';
import type { CostModel } from './cost.js';
import { runSimulation, type SimRetention } from './simulate.js';
import { Scorecard, type PolicyScore } from './scorecard.js';
import { SimTally, type SimSummary } from './summary.js';
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
  retention?: SimRetention;
}

/** One policy's result: its spec, the summary of its runs (undefined if no checkpoint fitted in), its score. */
export interface ComparisonRow {
  policy: PolicySpec;
  summary: SimSummary | undefined;
  score: PolicyScore;
}

/** Runs every policy on every seed's workload and summarizes each policy's runs together (streamed). */
export async function comparePolicies(input: ComparisonInput): Promise<ComparisonRow[]> {
  if (input.seeds.length === 0) throw new RangeError('a comparison needs at least one seed');
  if (input.policies.length === 0) throw new RangeError('a comparison needs at least one policy');
  const rows: ComparisonRow[] = [];
  for (const policy of input.policies) {
    const tally = new SimTally(input.durationMs);
    const scorecard = new Scorecard();
    for (const seed of input.seeds) {
      const workload = input.workloadFor(seed);
      tally.startRun();
      scorecard.startRun(workload.nextStep ?? (() => undefined), workload.nextChange);
      await runSimulation({ ...input, policy, workload }, (record) => {
        tally.add(record);
        scorecard.add(record);
      });
    }
    rows.push({ policy, summary: tally.summary(), score: scorecard.score() });
  }
  return rows;
}
