// Policy comparison: every policy over the same workloads (one per seed), summarized side by side.

import type { Band } from '../model/policy.js';
import type { PolicySpec } from '../policy/index.js';
import type { CostModel } from './cost.js';
import { runSimulation, type SimRetention, type SimulationInput } from './simulate.js';
import { Scorecard, type PolicyScore } from './scorecard.js';
import type { RunResult } from './measures.js';
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
  /** The dirty-size probe for a policy (undefined or absent: off). */
  probeFor?(policy: PolicySpec): SimulationInput['probe'];
  /** How late checkpoints start for a seed (a trace's late starts; default none). */
  startLateFor?(seed: number): SimulationInput['startLate'];
}

/** One policy's result: its spec, the summary of its runs (undefined if no checkpoint fitted in), its score. */
export interface ComparisonRow {
  policy: PolicySpec;
  summary: SimSummary | undefined;
  score: PolicyScore;
  /** Each seed's run on its own, in seed order: what the spread across seeds is taken over. */
  perSeed: SeedResult[];
}

/** One seed's run of one policy. */
export interface SeedResult extends RunResult {
  seed: number;
}

/** Runs every policy on every seed's workload and summarizes each policy's runs together and each run alone (streamed). */
export async function comparePolicies(input: ComparisonInput): Promise<ComparisonRow[]> {
  if (input.seeds.length === 0) throw new RangeError('a comparison needs at least one seed');
  if (input.policies.length === 0) throw new RangeError('a comparison needs at least one policy');
  const rows: ComparisonRow[] = [];
  for (const policy of input.policies) {
    const probe = input.probeFor?.(policy);
    const tally = new SimTally(input.durationMs);
    const scorecard = new Scorecard();
    const perSeed: SeedResult[] = [];
    for (const seed of input.seeds) {
      const workload = input.workloadFor(seed);
      const nextStep = workload.nextStep ?? (() => undefined);
      const seedTally = new SimTally(input.durationMs);
      const seedScorecard = new Scorecard();
      tally.startRun();
      seedTally.startRun();
      scorecard.startRun(nextStep, workload.nextChange);
      seedScorecard.startRun(nextStep, workload.nextChange);
      // Numbers only: no record is built (src/loop/supervisor.ts), which is what makes long comparisons fast.
      const run = { ...input, policy, workload, probe, startLate: input.startLateFor?.(seed) };
      await runSimulation(run, undefined, (facts) => {
        tally.addFacts(facts);
        scorecard.addFacts(facts);
        seedTally.addFacts(facts);
        seedScorecard.addFacts(facts);
      });
      perSeed.push({ seed, summary: seedTally.summary(), score: seedScorecard.score(), runs: 1 });
    }
    rows.push({ policy, summary: tally.summary(), score: scorecard.score(), perSeed });
  }
  return rows;
}
