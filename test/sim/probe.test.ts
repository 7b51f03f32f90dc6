// The dirty-size probe in the simulator (the real loop on a workload model, scored like `remusd compare`):
// with it, ≥ 97 % of measured checkpoints are in band on 10× steps and on the issue's workload with bursts,
// which no interval policy reaches with bursts (README, "policy-ceiling"); without it (the control) the same
// workload falls short. The model's readings miss what is written during CRIU's dump (they are cleared when
// it lets go), as the real probe's do.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ProbeSettings } from '../../src/loop/probe-rule.js';
import type { SupervisorSettings } from '../../src/loop/supervisor-deps.js';
import type { Band } from '../../src/model/policy.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { createPolicy, type PolicySpec } from '../../src/policy/index.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { modelCheckpointer } from '../../src/sim/model-checkpointer.js';
import { runModelLoop, type ModelProbe } from '../../src/sim/model-loop.js';
import { Scorecard } from '../../src/sim/scorecard.js';
import { DEFAULT_SIM_RETENTION, runSimulation, type SimulationInput } from '../../src/sim/simulate.js';
import type { Workload } from '../../src/sim/workload.js';
import { constantCost, MiB, PAGE, phased, tenfoldStepsArb } from './helpers.js';

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

  it('counts what is written between a reading and the freeze: estimates of fast windows hold', () => {
    // The real runs' case (README, Policies): under load the probe read ~0.4 s apart and CRIU froze the
    // dirtier 0.1-0.2 s after the reading a checkpoint started on; at 1500 pages/s that lag wrote ~0.9 MiB
    // more than any reading saw. The control: the same run with the freeze's time hidden from the loop (a
    // checkpointer that cannot tell), so the lag is learned as 0 and only the ratio, learned mostly on slow
    // windows, makes up for it.
    const estimateErrors = (tellsFreeze: boolean) => {
      // The real runs' dirtier (16 MiB, 300 pages/s for 8 s, 40 for 5, its burst made 2 s of 1500 pages/s),
      // read every 400 ms, frozen 150 ms after each start, CRIU's wall 250 ms.
      const phases: [number, number][] = [
        [300, 8],
        [40, 5],
        [1500, 2],
        [40, 5],
      ];
      const run = { phases, seed: 5, wallMs: 250, periodMs: 400, freezeAfterMs: 150, freezeHidden: !tellsFreeze };
      const errors = probedRun(600_000, run)
        .filter((r) => r.probe?.trigger === 'aim' && r.size_bytes > 2.5 * MiB) // the fast phase's
        .map((r) => Math.abs(Math.log(r.size_bytes / r.probe!.estimate_bytes)))
        .sort((x, y) => x - y);
      expect(errors.length).toBeGreaterThan(20);
      return errors[errors.length >> 1]!;
    };
    // Measured: median errors 3 % against 21 % (seed 5); 3 % against 14-20 % with seeds 6 and 7.
    expect(estimateErrors(true)).toBeLessThan(0.06);
    expect(estimateErrors(false)).toBeGreaterThan(0.1);
  });

  it('one odd reading (a pass over the whole memory in one wait) leaves the next checkpoints in band', () => {
    // The real run's case: the dirtier's check of its 16 MiB fell into a probed wait; the checkpoint started
    // at once and stored little, and the rule before took its ratio (1/64) halfway: the learned ratio fell to
    // 1/8 and the next checkpoint stored 8.6 MiB. The median of five is not moved by it.
    const records = probedRun(60_000, { wrap: (inner) => oddReadings(inner, { spikeAtReset: 12 }) });
    const spiked = records.findIndex((r) => r.probe !== null && r.probe.reading_bytes > 16 * MiB);
    expect(spiked).toBeGreaterThan(8);
    expect(records[spiked]!.size_bytes).toBeLessThan(BAND.lminBytes); // it did start early and small
    const after = records.slice(spiked + 1);
    expect(after.length).toBeGreaterThan(10);
    for (const r of after) {
      expect(r.size_bytes, `checkpoint ${r.seq}`).toBeGreaterThanOrEqual(BAND.lminBytes);
      expect(r.size_bytes, `checkpoint ${r.seq}`).toBeLessThanOrEqual(BAND.lmaxBytes);
      expect(r.probe!.ratio).toBeGreaterThan(0.9);
    }
  });

  it('follows a workload that starts reading as much as it writes, and more, in 3 checkpoints', () => {
    fc.assert(
      fc.property(fc.double({ min: 1.5, max: 4, noNaN: true }), fc.integer({ min: 6, max: 16 }), (factor, from) => {
        const records = probedRun(60_000, { wrap: (inner) => oddReadings(inner, { factor, factorFromReset: from }) });
        // The reset in checkpoint `from`'s dump is the first whose readings are inflated: checkpoint from + 1
        // is the first to start on one (early: at aim / factor). Three such checkpoints (the median of five
        // then moves) and the ratio is the new one: the fourth starts at the aim again, and all after it.
        const learned = records.filter((r) => r.seq >= from + 3);
        expect(learned.length).toBeGreaterThan(5);
        for (const r of learned) {
          expect(r.probe!.ratio * factor, `checkpoint ${r.seq}`).toBeGreaterThan(1 / 1.1);
          expect(r.probe!.ratio * factor, `checkpoint ${r.seq}`).toBeLessThan(1.1);
        }
        for (const r of records.filter((c) => c.seq > from + 3)) {
          expect(r.size_bytes, `checkpoint ${r.seq}`).toBeGreaterThanOrEqual(BAND.lminBytes);
          expect(r.size_bytes, `checkpoint ${r.seq}`).toBeLessThanOrEqual(BAND.lmaxBytes);
        }
      }),
      { numRuns: 15 },
    );
  });
});

// A probe whose readings a workload's reads inflate: by `factor` from the given reset on (a read-heavy
// phase), or by a pass over all 16 MiB 300 ms into the wait after one reset (the dirtier's memory check).
function oddReadings(
  inner: ModelProbe,
  odd: { spikeAtReset?: number; factor?: number; factorFromReset?: number },
): ModelProbe {
  const spike = 16 * MiB;
  let resets = 0;
  let spikeAtMs = Number.POSITIVE_INFINITY;
  const factor = () => (resets >= (odd.factorFromReset ?? Number.POSITIVE_INFINITY) ? (odd.factor ?? 1) : 1);
  return {
    reset(nowMs) {
      resets += 1;
      spikeAtMs = resets === odd.spikeAtReset ? nowMs + 300 : Number.POSITIVE_INFINITY;
      inner.reset(nowMs);
    },
    readingAt: (tMs) => inner.readingAt(tMs) * factor() + (tMs >= spikeAtMs ? spike : 0),
  };
}

// v2 with the probe on the dirtier's steady 300 pages/s (16 MiB), CRIU 150 ms, unless `run` says otherwise.
interface ProbedRun {
  /** Its probe wrapped (odd readings). */
  wrap?: (inner: ModelProbe) => ModelProbe;
  phases?: [number, number][];
  seed?: number;
  wallMs?: number;
  /** The probe's period, fixed. */
  periodMs?: number;
  /** The model freezes the workload this long after each start; hidden: the loop is not told when. */
  freezeAfterMs?: number;
  freezeHidden?: boolean;
}
function probedRun(durationMs: number, run: ProbedRun): CheckpointRecord[] {
  const clock = new VirtualClock();
  const policy = createPolicy({ kind: 'predictive' });
  const { periodMs } = run;
  const settings: SupervisorSettings = {
    band: BAND,
    policyKey: policy.kind,
    policy,
    retention: DEFAULT_SIM_RETENTION,
    criu: { logLevel: 0, extraArgs: [], timeoutMs: Number.POSITIVE_INFINITY },
    failures: { maxConsecutive: 1, backoffInitialMs: 0, backoffMaxMs: 0 },
    probe: periodMs === undefined ? PROBE : { ...PROBE, minPeriodMs: periodMs, maxPeriodMs: periodMs },
  };
  const checkpointer = modelCheckpointer({
    workload: phased(run.phases ?? [[300, 1000]], { workingSetPages: 4096, noise: 0.1, seed: run.seed ?? 3 }),
    cost: constantCost(20, run.wallMs ?? 150, 50),
    clock,
    pageSize: PAGE,
    memoryPages: 4096,
    compaction: true,
    probe: {},
    freezeAfterMs: run.freezeAfterMs,
  });
  const take: typeof checkpointer.take = (request) => {
    const result = checkpointer.take(request);
    if (result.ok && run.freezeHidden === true) result.freezeAfterMs = undefined;
    return result;
  };
  const probe = checkpointer.probe!;
  const records: CheckpointRecord[] = [];
  runModelLoop({
    checkpointer: { ...checkpointer, take, probe: run.wrap === undefined ? probe : run.wrap(probe) },
    clock,
    endMs: durationMs,
    mode: 'sim',
    pageSize: PAGE,
    initialIntervalMs: 500,
    settings: () => settings,
    records: undefined,
    events: {
      info: () => undefined,
      warn: () => undefined,
      failure: () => undefined,
      record: (r) => void records.push(r),
    },
  });
  // The measured ones, as compare scores them: not the first 3, not chain starts.
  return records.filter((r, i) => i >= 3 && !r.chain_start);
}
