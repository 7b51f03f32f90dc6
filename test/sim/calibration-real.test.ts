// Issue 11's test for the calibrated cost model, on real CRIU (mode delta, the bundled dirtier): a profile
// fitted on one real run predicts another real run's frozen-time median within 25 %, and each run's trace
// replayed with its own profile reproduces its frozen median within 25 % and its share in band within the
// issue's 3 points (over both runs together).
//
// The share in band. Where a run's share lands is decided checkpoint by checkpoint around each 10× step: a
// few ms of timing moves a window's pages across the policy's ×1.5 change test or its deadband, and from
// there the run takes another path (which interval it settles on in the busy phase, where its 5 s windows
// fall against the next step). One run's share is one draw of that: replays of the same trace that differ
// only in those few ms spread over 5–11 points. So the replay (1) starts each checkpoint as late as the real
// loop did, drawn from the run's own late starts (the trace's lateStartsMs, elapsed − interval: medians of
// 6–17 ms per checkpoint here, which the simulator's clock did not have, so that it ran ~1 s ahead of a
// 120-checkpoint run), (2) reads a step inside a window where it keeps the window's pages, and in a chain
// start's window at its middle (src/sim/trace.ts), and (3) says its share as the mean over REPLAYS draws of
// those late starts: the model's share for that trace, not one path of it. What is left is the real run's
// own draw (one run of 60 checkpoints: sd 1.9 points), which longer runs do not average out (sd 2.2 over 90
// and over 120 checkpoints: a run's path carries from one step to the next), more runs do.
//
// Measured over 16 real runs (2026-12-02 09:38–10:00 UTC, load 4–9: four side by side, as two pairs; the
// first 60 checkpoints of runs of 120), the replayed share minus the real one, in points:
//   before (one replay, every start on time):  per run mean +0.4, sd 2.9; two runs together sd 2.0
//   now (mean of REPLAYS draws of late starts): per run mean −0.3, sd 1.9 (−3.4 to +4.6); two runs together
//     −0.5, −0.1, +0.8, −1.1, −0.9, +1.4, −1.4, +0.4 (mean −0.2, sd 1.0; from the per-run sd 1.3).
// SHARE_POINTS = 3 is 2.3 of those 1.3 sd: the test fails by chance about once in 40 runs. Four runs
// together would make it 3.2 sd (four together: −0.7, +0.7, −0.3, −0.3), but four side by side spread the
// frozen medians (two runs' dumps collide): run A1's profile then missed run B1's median by +30.6 % and
// +46.5 % in 2 of 10 pairs, so four runs need two rounds of two (~4.5 min).
// Negative controls on the same pairs: the trace's rates misread by 2× (pages of 8 KiB counted for 4 KiB)
// +8.3 to +13.2 (this test asserts that it fails the bound); the threshold policy replayed −5.6 to −12.8;
// the trace read without steps inside windows −4.6 to +0.1 (mean −2.1), a bias this bound does not catch
// (test/sim/trace.test.ts holds it).
// Frozen medians: the replays' were 2.5–23 % above the real ones in all 16 runs (one memory size is fitted
// as a level, the mean of a right-skewed freeze time, not its median).
//
// The two runs go side by side, so that the machine's load (which multiplied frozen times by 5–10 here at
// load 15) is the same for both: the bounds are about the model, not about the neighbours.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { afterEach, describe, expect, it } from 'vitest';
import { pageSize } from '../../src/criu/probe.js';
import { parseRecords } from '../../src/loop/record-reader.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { createPolicy } from '../../src/policy/index.js';
import { calibrate } from '../../src/sim/calibrate.js';
import { checkpointCost, type CostModel } from '../../src/sim/cost.js';
import { Scorecard } from '../../src/sim/scorecard.js';
import { simulate } from '../../src/sim/simulate.js';
import { traceFromRecords, traceWorkload, type Trace } from '../../src/sim/trace.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { superviseFor, testSettings } from '../helpers/supervise.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

const MiB = 2 ** 20;
// A band the policy can hold with CRIU's cost on a busy machine (a 16 MiB dump took ~0.5 s at load 20):
// the replay is compared where the policy, not the overruns, decides.
const BAND = { lminBytes: 0.5 * MiB, lmaxBytes: 4 * MiB, minMs: 300, maxMs: 5000 };
const RETENTION = { keep: 1000, newChainEvery: 20, maxChainBytes: undefined };
const COUNT = 60;
const SHARE_POINTS = 3;
const REPLAYS = 16;
const INITIAL_MS = 1000;
// Two different workloads: 10× steps every 10 s, at different rates.
const WORKLOADS = [
  { name: 'A', phases: '500:10,50:10' },
  { name: 'B', phases: '400:10,40:10' },
];

const workloads: TestWorkload[] = [];
afterEach(async () => {
  await Promise.all(workloads.splice(0).map((w) => w.stop()));
});

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
// The share in band over runs together (each run's first checkpoints are warm-up, as in `remusd compare`).
const inBandShare = (runs: readonly (readonly CheckpointRecord[])[]) => {
  const card = new Scorecard();
  for (const records of runs) {
    card.startRun(() => undefined);
    for (const r of records) card.add(r);
  }
  return card.score().inBandShare;
};

// A run's trace replayed with its profile, its late starts drawn with `seed`.
const replay = (trace: Trace, cost: CostModel, memoryPages: number, pageBytes: number, seed: number) =>
  simulate({
    policy: { kind: 'predictive' },
    band: BAND,
    initialIntervalMs: INITIAL_MS,
    workload: traceWorkload(trace),
    cost,
    durationMs: trace.durationMs,
    pageSize: pageBytes,
    retention: RETENTION,
    memoryPages,
    startLate: { samplesMs: trace.lateStartsMs, seed },
  });

// The replays' share over all runs, each draw of late starts over all runs together, then the mean of the draws.
const replayedShare = async (
  runs: readonly { trace: Trace; cost: CostModel; memoryPages: number }[],
  pageBytes: number,
): Promise<number> => {
  let sum = 0;
  for (let seed = 1; seed <= REPLAYS; seed++) {
    const replays = await Promise.all(runs.map((r) => replay(r.trace, r.cost, r.memoryPages, pageBytes, seed)));
    sum += inBandShare(replays);
  }
  return sum / REPLAYS;
};

describe('a calibrated cost profile (real CRIU, mode delta)', () => {
  it("fitted on one run, predicts another run's frozen median within 25 %, and its own run's in the replay", async () => {
    const criu = await testCriu();
    const size = await pageSize();
    const started = await Promise.all(WORKLOADS.map((w) => startWorkload(['--mib', '16', '--phases', w.phases])));
    workloads.push(...started);
    const settings = () =>
      testSettings(BAND, {
        policyKey: 'predictive',
        policy: createPolicy({ kind: 'predictive' }),
        retention: RETENTION,
      });
    const run = async (w: TestWorkload) => {
      const root = await imagesDir('remusd-calib-');
      await superviseFor({
        criu,
        pid: w.pid,
        root,
        count: COUNT,
        initialIntervalMs: INITIAL_MS,
        pageSize: size,
        mode: 'delta',
        settings,
      });
      const path = join(root, 'records.jsonl');
      const text = await readFile(path, 'utf8');
      return {
        read: parseRecords(text, path),
        raw: text
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as CheckpointRecord),
      };
    };
    const runs = await Promise.all(started.map(run));
    const [runA, runB] = runs;
    if (runA === undefined || runB === undefined) throw new Error('the runs A and B are missing');
    const [model] = calibrate(runA.read);
    expect(model!.mode).toBe('delta');

    // The other run's frozen median, from its own page counts.
    const predicted =
      checkpointCost(model!, {
        scanned: median(runB.read.map((r) => r.pagesScanned!)),
        criuWritten: median(runB.read.map((r) => r.criuPagesWritten!)),
        rewritten: 0,
      }).frozenUs / 1000;
    const measured = median(runB.read.map((r) => r.frozenUs!)) / 1000;
    console.log(
      `frozen median: predicted ${predicted.toFixed(1)} ms from run A, measured ${measured.toFixed(1)} ms in run B (${((predicted / measured - 1) * 100).toFixed(1)} %)`,
    );
    expect(Math.abs(predicted / measured - 1)).toBeLessThanOrEqual(0.25);

    // Each run replayed: its dirty rate and late starts as a trace, its policy, band, chain rules and its own
    // calibrated costs.
    const replayed = runs.map((r, i) => {
      const [cost] = calibrate(r.read);
      return {
        name: WORKLOADS[i]!.name,
        trace: traceFromRecords(r.read, `run ${WORKLOADS[i]!.name}`),
        cost: cost!,
        memoryPages: median(r.read.map((x) => x.pagesScanned!)),
        real: r,
      };
    });
    for (const r of replayed) {
      const simulated = await replay(r.trace, r.cost, r.memoryPages, size, 1);
      const [realFrozen, simFrozen] = [
        median(r.real.read.map((x) => x.frozenUs!)) / 1000,
        median(simulated.map((x) => x.frozen_us)) / 1000,
      ];
      const [realShare, simShare] = [inBandShare([r.real.raw]), await replayedShare([r], size)];
      console.log(
        `run ${r.name}: in band real ${percent(realShare)}, replayed ${percent(simShare)} (mean of ${REPLAYS}); ` +
          `frozen median real ${realFrozen.toFixed(1)} ms, replayed ${simFrozen.toFixed(1)} ms; ` +
          `late starts median ${median(r.trace.lateStartsMs).toFixed(1)} ms`,
      );
      expect(Math.abs(simFrozen / realFrozen - 1)).toBeLessThanOrEqual(0.25);
    }
    const realShare = inBandShare(runs.map((r) => r.raw));
    const simShare = await replayedShare(replayed, size);
    console.log(
      `all runs: in band real ${percent(realShare)}, replayed ${percent(simShare)} (${((simShare - realShare) * 100).toFixed(1)} points)`,
    );
    expect(Math.abs(simShare - realShare) * 100).toBeLessThanOrEqual(SHARE_POINTS);

    // Negative control: a replay that misreads the dirty rate by 2× (pages of 8 KiB counted for 4 KiB) must be
    // caught: +8.3 to +13.2 points off over the pairs in the header.
    const misread = replayed.map((r) => ({
      ...r,
      trace: {
        ...r.trace,
        schedule: {
          ...r.trace.schedule,
          segments: r.trace.schedule.segments.map((g) => ({ ...g, pagesPerMs: g.pagesPerMs * 2 })),
        },
      },
    }));
    const wrongShare = await replayedShare(misread, size);
    console.log(
      `rates misread by 2×: replayed ${percent(wrongShare)} (${((wrongShare - realShare) * 100).toFixed(1)} points)`,
    );
    expect(Math.abs(wrongShare - realShare) * 100).toBeGreaterThan(SHARE_POINTS);
  }, 900_000);
});
