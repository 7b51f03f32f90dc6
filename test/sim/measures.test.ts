// The measures of simulated runs and their spread across seeds (src/sim/measures.ts), and comparePolicies'
// per-seed results that the spread is taken over.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolvePolicySpec, type PolicySpec } from '../../src/policy/index.js';
import { comparePolicies } from '../../src/sim/compare.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { MEASURES, spreadAcrossSeeds, spreadOf } from '../../src/sim/measures.js';
import { simulate } from '../../src/sim/simulate.js';
import { summarizeSim } from '../../src/sim/summary.js';
import { BAND, PAGE, phased } from './helpers.js';

describe('spreadOf', () => {
  it('median, p10 and p90 by linear interpolation (R type 7, numpy default)', () => {
    // numpy.percentile([1..10], [50, 10, 90]) = [5.5, 1.9, 9.1]
    const s = spreadOf([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])!;
    expect(s.median).toBeCloseTo(5.5, 12);
    expect(s.p10).toBeCloseTo(1.9, 12);
    expect(s.p90).toBeCloseTo(9.1, 12);
    expect(s.n).toBe(10);
    expect(spreadOf([7])).toEqual({ median: 7, p10: 7, p90: 7, n: 1 });
    expect(spreadOf([])).toBeNull();
  });

  it('p10 ≤ median ≤ p90, all within the values, whatever their order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e9, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (values) => {
          const s = spreadOf(values)!;
          const min = Math.min(...values);
          const max = Math.max(...values);
          return min <= s.p10 && s.p10 <= s.median && s.median <= s.p90 && s.p90 <= max && s.n === values.length;
        },
      ),
    );
  });
});

describe('spread across seeds', async () => {
  const seeds = [1, 2, 3, 4, 5];
  const input = {
    policies: [resolvePolicySpec({ kind: 'threshold' } as PolicySpec)],
    seeds,
    workloadFor: (seed: number) =>
      phased(
        [
          [4000, 10],
          [200, 10],
        ],
        { workingSetPages: 16384, noise: 0.3, seed },
      ),
    band: BAND,
    initialIntervalMs: 500,
    cost: DEFAULT_COST,
    durationMs: 40_000,
    pageSize: PAGE,
  };
  const [row] = await comparePolicies(input);

  it('each seed result is that seed simulated alone', async () => {
    expect(row!.perSeed.map((r) => r.seed)).toEqual(seeds);
    for (const result of row!.perSeed) {
      const records = await simulate({ ...input, policy: row!.policy, workload: input.workloadFor(result.seed) });
      expect(result.summary).toEqual(summarizeSim([records], input.durationMs));
      expect(result.runs).toBe(1);
    }
  });

  it("each measure's spread is taken over the seeds' own values; the seeds differ, so the spread is not a point", () => {
    const spread = spreadAcrossSeeds(row!.perSeed);
    expect(Object.keys(spread)).toEqual(MEASURES.map((m) => m.name));
    for (const m of MEASURES) {
      const values = row!.perSeed.map((r) => m.of(r)).filter((v): v is number => v !== undefined);
      expect(spread[m.name], m.name).toEqual(spreadOf(values));
    }
    const sizes = spread.size_median_bytes!;
    expect(sizes.p10).toBeLessThan(sizes.p90);
    expect(spread.checkpoints_per_run!.median).toBe(
      [...row!.perSeed.map((r) => r.summary!.checkpoints)].sort((a, b) => a - b)[2],
    );
  });

  it('a measure no seed has a value for is null; one only some seeds have counts those (n)', () => {
    const [first, second] = row!.perSeed;
    const noSteps = { ...first!, score: { ...first!.score, steps: 0 } };
    expect(spreadAcrossSeeds([noSteps]).back_in_band_mean).toBeNull();
    expect(spreadAcrossSeeds([noSteps, second!]).back_in_band_mean?.n).toBe(1);
    expect(spreadAcrossSeeds([{ ...first!, summary: undefined }]).interval_mean_ms).toBeNull();
  });
});
