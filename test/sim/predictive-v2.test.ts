// Properties of predictive v2 in the simulator (the real loop on a workload model), scored as `remusd
// compare` scores it (src/sim/scorecard.ts).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Band } from '../../src/model/policy.js';
import type { PolicySpec } from '../../src/policy/index.js';
import { Scorecard } from '../../src/sim/scorecard.js';
import { runSimulation } from '../../src/sim/simulate.js';
import type { Workload } from '../../src/sim/workload.js';
import { FREE, MiB, PAGE, phased, REACHABLE, tenfoldStepsArb } from './helpers.js';

// The band: [1, 4] MiB, interval [200 ms, 8 s]; the target 2 MiB = 512 pages.
const BAND: Band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 200, maxMs: 8000 };
async function score(policy: PolicySpec, workload: Workload, durationMs: number) {
  const card = new Scorecard();
  card.startRun(workload.nextStep!, workload.nextChange);
  await runSimulation(
    {
      policy,
      band: BAND,
      initialIntervalMs: 500,
      workload,
      cost: FREE,
      durationMs,
      pageSize: PAGE,
      retention: { keep: 5, newChainEvery: 20, maxChainBytes: undefined },
    },
    (record) => card.add(record),
  );
  return card.score();
}

describe('predictive v2 (simulated, scored like remusd compare)', () => {
  it('is back in band within 2 checkpoints after any 10× step inside the reachable range', async () => {
    await fc.assert(
      fc.asyncProperty(tenfoldStepsArb, async (phases) => {
        const durationMs = phases.reduce((sum, [, s]) => sum + s * 1000, 0);
        const workload = phased(phases, { workingSetPages: 16384 });
        const s = await score({ kind: 'predictive' }, workload, durationMs);
        expect(s.steps).toBe(phases.length - 1);
        expect(s.backInBand.never).toBe(0);
        expect(s.backInBand.max).toBeLessThanOrEqual(2);
      }),
      { numRuns: 60 },
    );
  });

  it('does not oscillate on a constant rate with noise 0.2: reversals ≤ 1 % of decisions, ≥ 97 % in band', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: REACHABLE.min, max: REACHABLE.max }), fc.integer(), async (rate, seed) => {
        const workload = phased([[rate, 1000]], { workingSetPages: 16384, noise: 0.2, seed });
        const s = await score({ kind: 'predictive' }, workload, 300_000);
        expect(s.reversalShare).toBeLessThanOrEqual(0.01);
        expect(s.inBandShare).toBeGreaterThanOrEqual(0.97);
      }),
      { numRuns: 40 },
    );
  });

  it("beats the threshold rule on the issue's workload: 10× steps every 20 s, noise 0.2 and bursts, 10 seeds", async () => {
    const results = await Promise.all(
      (['threshold', 'predictive'] as const).map(async (kind) => {
        const card = new Scorecard();
        for (let seed = 1; seed <= 10; seed++) {
          const workload = phased(
            [
              [2000, 20],
              [200, 20],
            ],
            {
              workingSetPages: 16384,
              noise: 0.2,
              seed,
              bursts: { pagesPerSecond: 4000, durationMs: 200, everyMs: 10_000 },
            },
          );
          card.startRun(workload.nextStep!, workload.nextChange);
          await runSimulation(
            {
              policy: { kind },
              band: BAND,
              initialIntervalMs: 500,
              workload,
              cost: FREE,
              durationMs: 300_000,
              pageSize: PAGE,
            },
            (record) => card.add(record),
          );
        }
        return card.score();
      }),
    );
    const [threshold, predictive] = results as [ReturnType<Scorecard['score']>, ReturnType<Scorecard['score']>];
    expect(predictive.inBandShare).toBeGreaterThan(threshold.inBandShare);
    expect(predictive.backInBand.mean).toBeLessThan(threshold.backInBand.mean);
    expect(predictive.reversalShare).toBeLessThanOrEqual(threshold.reversalShare);
    expect(predictive.overruns).toBeLessThanOrEqual(threshold.overruns);
  });
});
