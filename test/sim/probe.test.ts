// The dirty-size probe in the simulator (the real loop on a workload model, scored like `remusd compare`):
// with it, ≥ 97 % of measured checkpoints are in band on 10× steps and on the issue's workload with bursts,
// which no interval policy reaches with bursts (README, "policy-ceiling"); without it (the control) the same
// workload falls short. The model's readings miss what is written during CRIU's dump (they are cleared when
// it lets go), as the real probe's do.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProbeSettings } from '../../src/loop/probe-rule.js';
import type { Band } from '../../src/model/policy.js';
import type { PolicySpec } from '../../src/policy/index.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { Scorecard } from '../../src/sim/scorecard.js';
import { runSimulation, type SimulationInput } from '../../src/sim/simulate.js';
import type { Workload } from '../../src/sim/workload.js';
import { MiB, PAGE, phased, tenfoldStepsArb } from './helpers.js';

const BAND: Band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 200, maxMs: 8000 };
const PROBE: ProbeSettings = { minPeriodMs: 25, maxPeriodMs: 100, defer: true, target: 'geometric' };
const BURSTS = { pagesPerSecond: 4000, durationMs: 200, everyMs: 10_000 };

// Runs one workload and adds its checkpoints to the card (checkpoints cost what they cost on this machine).
async function run(
  card: Scorecard,
  policy: PolicySpec,
  workload: Workload,
  ms: number,
  probe: SimulationInput['probe'],
) {
  card.startRun(workload.nextStep!, workload.nextChange);
  await runSimulation(
    { policy, band: BAND, initialIntervalMs: 500, workload, cost: DEFAULT_COST, durationMs: ms, pageSize: PAGE, probe },
    undefined,
    (facts) => card.addFacts(facts),
  );
}

// The issue's workload: 2000 ↔ 200 pages/s every 20 s, noise 0.2, bursts of 4000 pages/s for 200 ms every ~10 s.
const issueWorkload = (seed: number) =>
  phased(
    [
      [2000, 20],
      [200, 20],
    ],
    { workingSetPages: 16384, noise: 0.2, seed, bursts: BURSTS },
  );

describe('the dirty-size probe (simulated)', () => {
  it('keeps ≥ 97 % in band on any 10× steps inside the reachable range', async () => {
    await fc.assert(
      fc.asyncProperty(tenfoldStepsArb, fc.integer(), async (phases, seed) => {
        const ms = phases.reduce((sum, [, s]) => sum + s * 1000, 0);
        const card = new Scorecard();
        await run(card, { kind: 'predictive' }, phased(phases, { workingSetPages: 16384, seed }), ms, PROBE);
        expect(card.score().inBandShare).toBeGreaterThanOrEqual(0.97);
      }),
      { numRuns: 25 },
    );
  });

  it("lifts v2 from under 97 % to over 97 % in band on the issue's workload (the control: without it)", async () => {
    const share = async (probe: SimulationInput['probe'], readShare = 0) => {
      const card = new Scorecard();
      for (let seed = 1; seed <= 5; seed++)
        await run(card, { kind: 'predictive' }, issueWorkload(seed), 300_000, probe && { ...probe, readShare });
      return card.score();
    };
    const without = await share(undefined);
    const withProbe = await share(PROBE);
    // A workload that only reads as many pages again as it writes: the ratio learned from each checkpoint.
    const readHeavy = await share(PROBE, 1);
    expect(without.inBandShare).toBeLessThan(0.97);
    expect(withProbe.inBandShare).toBeGreaterThanOrEqual(0.97);
    expect(readHeavy.inBandShare).toBeGreaterThanOrEqual(0.97);
    // Not bought with the other measures: as fast back in band, no more reversals than v2 alone, no overruns.
    expect(withProbe.backInBand.mean).toBeLessThanOrEqual(without.backInBand.mean);
    expect(withProbe.reversalShare).toBeLessThanOrEqual(0.05);
    expect(withProbe.overruns).toBeLessThanOrEqual(without.overruns);
  });

  it('defers past the deadline while under lmin: the first checkpoint after a 10× fall stays in band too', async () => {
    // An interval too short for the slow phase: the fixed policy's 500 ms (200 pages/s write 0.4 MiB in it).
    // v2 no longer shortens its interval after checkpoints the probe started early, so its deadline after a
    // fall is a long one and it is in band either way (99.5 % with and without deferral here).
    const inBand = async (probe: ProbeSettings) => {
      const card = new Scorecard();
      const steps: [number, number][] = [
        [2000, 20],
        [200, 20],
      ];
      await run(card, { kind: 'fixed' }, phased(steps, { workingSetPages: 16384 }), 120_000, probe);
      return card.score().inBandShare;
    };
    const deferring = await inBand(PROBE);
    expect(deferring).toBeGreaterThanOrEqual(0.9);
    expect(await inBand({ ...PROBE, defer: false })).toBeLessThan(deferring - 0.2);
  });
});
