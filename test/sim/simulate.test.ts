import { describe, expect, it } from 'vitest';
import { step, type LoopState } from '../../src/loop/step.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { createPolicy } from '../../src/policy/index.js';
import { checkpointCost } from '../../src/sim/cost.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { simulate, type SimulationInput } from '../../src/sim/simulate.js';
import { BAND, constantCost, FREE, MiB, PAGE, phased } from './helpers.js';

const base = (extra: Partial<SimulationInput>): SimulationInput => ({
  policy: { kind: 'threshold' },
  band: BAND,
  initialIntervalMs: 500,
  workload: phased([[2000, 1000]]),
  cost: DEFAULT_COST,
  durationMs: 30_000,
  pageSize: PAGE,
  ...extra,
});
const atMs = (r: CheckpointRecord) => Date.parse(r.start);
// The measured checkpoints: not the first of the run, not a chain start.
const measured = (records: readonly CheckpointRecord[]) =>
  records.filter((r) => !r.chain_start && r.elapsed_ms !== null);

describe('simulate (the supervisor loop on a workload model and a virtual clock)', () => {
  it('is deterministic: the same seed gives identical records, another seed different ones', async () => {
    const run = (seed: number) =>
      simulate(
        base({
          policy: { kind: 'predictive' },
          workload: phased(
            [
              [8000, 10],
              [200, 10],
              [1500, 10],
            ],
            {
              workingSetPages: 16384,
              noise: 0.3,
              seed,
              bursts: { pagesPerSecond: 20_000, durationMs: 200, everyMs: 3000 },
            },
          ),
        }),
      );
    expect(JSON.stringify(await run(7))).toBe(JSON.stringify(await run(7)));
    expect(JSON.stringify(await run(7))).not.toBe(JSON.stringify(await run(8)));
  });

  it('writes the records `remusd run` writes, with mode sim, virtual times, the band and the policy', async () => {
    const records = await simulate(
      base({
        durationMs: 2000,
        epoch: new Date('2026-01-01T00:00:00Z'),
        workload: phased([[2000, 1000]], { workingSetPages: 16384 }),
      }),
    );
    // The first checkpoint starts with the workload, starts a chain and is not shown to the policy.
    expect(records[0]).toMatchObject({
      schema: 3,
      probe: null,
      seq: 1,
      mode: 'sim',
      policy: 'threshold',
      start: '2026-01-01T00:00:00.000Z',
      chain_start: true,
      elapsed_ms: null,
      pages_written: 16384,
      decision: 'hold',
      parent: null,
    });
    expect(records[0]!.band).toEqual({
      lmin_bytes: BAND.lminBytes,
      lmax_bytes: BAND.lmaxBytes,
      min_ms: BAND.minMs,
      max_ms: BAND.maxMs,
    });
    expect(records[0]!.reason).toMatch(
      /^chain start: a full checkpoint \(16384 pages\) measures no dirty set; interval held/,
    );
    expect(records[1]).toMatchObject({
      seq: 2,
      start: '2026-01-01T00:00:00.500Z',
      chain_start: false,
      elapsed_ms: 500,
      interval_ms: 500,
      pages_written: 1000,
      size_bytes: 1000 * PAGE,
      parent: '00000001',
      overrun: false,
    });
    expect(records[1]!.reason).toMatch(/within \[lmin/);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(records.every((r) => atMs(r) - Date.parse('2026-01-01T00:00:00Z') < 2000)).toBe(true);
  });

  it('starts a new chain every new_chain_every checkpoints, and the chain start is held, not shown to the policy', async () => {
    const records = await simulate(
      base({
        workload: phased([[2000, 1000]], { workingSetPages: 16384 }),
        retention: { keep: 3, newChainEvery: 5, maxChainBytes: undefined },
      }),
    );
    const starts = records.filter((r) => r.chain_start).map((r) => r.seq);
    expect(starts.slice(0, 4)).toEqual([1, 6, 11, 16]);
    for (const r of records.filter((x) => x.chain_start)) {
      expect(r.pages_written).toBe(16384);
      expect(r.decision).toBe('hold');
      expect(r.next_interval_ms).toBe(r.interval_ms);
    }
  });

  it('on a linear workload the threshold rule brings the interval into the band and holds it there', async () => {
    // 2000 pages/s = 7.8 MiB/s: the band [1, 8] MiB is [134 ms, 1074 ms] of interval.
    const down = measured(await simulate(base({ initialIntervalMs: 5000 })));
    expect(down.slice(0, 4).map((r) => r.decision)).toEqual(['shrink', 'shrink', 'shrink', 'hold']);
    expect(down[3]!.interval_ms).toBe(625);
    for (const r of down.slice(3)) {
      expect(r.size_bytes).toBeGreaterThanOrEqual(BAND.lminBytes);
      expect(r.size_bytes).toBeLessThanOrEqual(BAND.lmaxBytes);
      expect(r.decision).toBe('hold');
    }
    // 500 pages/s from the bottom: 200 → 300 → 450 → 675 ms (1.3 MiB) and hold.
    const up = measured(await simulate(base({ initialIntervalMs: 200, workload: phased([[500, 1000]]) })));
    expect(up.slice(0, 4).map((r) => r.interval_ms)).toEqual([200, 300, 450, 675]);
    expect(up.slice(3).every((r) => r.decision === 'hold')).toBe(true);
  });

  it('on a workload saturating below lmin the interval goes to max and stays there', async () => {
    // W = 128 pages = 0.5 MiB < lmin: no interval makes a checkpoint big enough.
    const records = await simulate(
      base({ workload: phased([[50_000, 1000]], { workingSetPages: 128 }), durationMs: 60_000 }),
    );
    expect(records.every((r) => r.pages_written <= 128)).toBe(true);
    expect(records.every((r) => r.decision !== 'shrink')).toBe(true);
    const last = records[records.length - 1]!;
    expect(last.interval_ms).toBe(BAND.maxMs);
    expect(last.next_interval_ms).toBe(BAND.maxMs);
  });

  it('schedules start to start, like step(): next start = start + next interval', async () => {
    const records = await simulate(
      base({
        workload: phased(
          [
            [8000, 5],
            [300, 5],
          ],
          { workingSetPages: 16384 },
        ),
        cost: FREE,
      }),
    );
    for (let i = 1; i < records.length; i++) {
      expect(atMs(records[i]!)).toBeCloseTo(atMs(records[i - 1]!) + records[i - 1]!.next_interval_ms, 0);
      expect(records[i]!.elapsed_ms).toBeCloseTo(records[i - 1]!.next_interval_ms, 6);
    }
  });

  it('decides exactly what the step and the policy decide for the same observations', async () => {
    const workload = phased(
      [
        [8000, 3],
        [100, 3],
      ],
      { noise: 0.2, seed: 4 },
    );
    const records = await simulate(
      base({
        policy: { kind: 'predictive' },
        workload,
        cost: FREE,
        retention: { keep: 5, newChainEvery: 1000, maxChainBytes: undefined },
      }),
    );
    const policy = createPolicy({ kind: 'predictive' });
    let state: LoopState = { intervalMs: 500, policyState: policy.initialState() };
    let last = 0;
    for (const r of records) {
      const at = atMs(r);
      const pages = workload.pages(last, at);
      const unmeasured = r.seq === 1 ? 'chain start: a full checkpoint (0 pages) measures no dirty set' : undefined;
      const out = step(
        policy,
        state,
        {
          observation: {
            seq: r.seq,
            intervalMs: state.intervalMs,
            elapsedMs: r.seq === 1 ? 500 : at - last,
            sizeBytes: pages * PAGE,
            pagesWritten: pages,
            frozenUs: 0,
            pageSize: PAGE,
          },
          unmeasured,
          startedAtMs: at,
          finishedAtMs: at,
        },
        BAND,
      );
      expect(r.reason).toBe(out.decision.reason);
      expect(r.next_interval_ms).toBeCloseTo(out.decision.nextIntervalMs, 3);
      state = out.state;
      last = at;
    }
  });

  it('starts each checkpoint late by a draw from the late starts given, after a wait only', async () => {
    const fixed = (startLate: SimulationInput['startLate'], cost = FREE) =>
      simulate(base({ policy: { kind: 'fixed' }, initialIntervalMs: 500, cost, durationMs: 20_000, startLate }));
    const lates = (records: readonly CheckpointRecord[]) => records.slice(1).map((r) => r.elapsed_ms! - 500);
    expect(new Set(lates(await fixed(undefined)))).toEqual(new Set([0]));
    expect(new Set(lates(await fixed({ samplesMs: [7], seed: 1 })))).toEqual(new Set([7]));
    const drawn = await fixed({ samplesMs: [0, 5, 20], seed: 3 });
    expect(new Set(lates(drawn))).toEqual(new Set([0, 5, 20]));
    expect(await fixed({ samplesMs: [0, 5, 20], seed: 3 })).toEqual(drawn);
    expect(lates(await fixed({ samplesMs: [0, 5, 20], seed: 4 }))).not.toEqual(lates(drawn));
    // An overrun starts the next checkpoint when it ends: no wait, nothing late.
    const overrun = await fixed({ samplesMs: [7], seed: 1 }, constantCost(50, 600));
    expect(new Set(overrun.slice(1).map((r) => r.elapsed_ms))).toEqual(new Set([600]));
  });

  it('a checkpoint longer than the interval overruns and the next starts when it ends', async () => {
    const records = await simulate(
      base({ policy: { kind: 'fixed' }, initialIntervalMs: 200, cost: constantCost(50, 300), durationMs: 3000 }),
    );
    expect(records.every((r) => r.overrun)).toBe(true);
    expect(records.slice(1).every((r) => r.elapsed_ms === 300)).toBe(true);
    expect(records[0]!.frozen_us).toBe(50_000);
    expect(records[0]!.criu_wall_ms).toBe(300);
  });

  it('costs follow the cost model and sizes the page size', async () => {
    const [, r] = await simulate(base({ durationMs: 600, pageSize: 16384 }));
    expect(r!.size_bytes).toBe(1000 * 16384);
    expect(r!.frozen_us).toBe(
      checkpointCost(DEFAULT_COST, { scanned: 1000, criuWritten: 1000, rewritten: 1000 }).frozenUs,
    );
    expect(r!.size_bytes / MiB).toBeCloseTo(15.6, 1);
  });

  it('mode delta: CRIU freezes and dumps the whole memory, the rewrite keeps the dirty pages after the freeze', async () => {
    const memory = 16_384;
    const records = await simulate(
      base({
        policy: { kind: 'fixed' },
        durationMs: 3000,
        workload: phased([[2000, 1000]], { workingSetPages: memory }),
        cost: constantCost(0, 0, 0),
      }),
    );
    const delta = { ...DEFAULT_COST, rewrite: { baseMs: 10, perScannedPageUs: 0, perWrittenPageUs: 20 } };
    const charged = await simulate(
      base({
        policy: { kind: 'fixed' },
        durationMs: 3000,
        workload: phased([[2000, 1000]], { workingSetPages: memory }),
        cost: delta,
      }),
    );
    const [start, next] = charged;
    // A chain start keeps CRIU's dump as it is: the rewrite writes nothing.
    expect(start).toMatchObject({ chain_start: true, pages_written: memory, criu_pages_written: memory, delta_ms: 10 });
    // After it: the 1000 dirty pages are stored, but the freeze is that of a 16,384-page dump.
    expect(next).toMatchObject({
      chain_start: false,
      pages_written: 1000,
      criu_pages_written: memory,
      pages_scanned: memory,
      delta_ms: 10 + 20,
    });
    expect(next!.frozen_us).toBe(
      checkpointCost(DEFAULT_COST, { scanned: memory, criuWritten: memory, rewritten: 0 }).frozenUs,
    );
    // The rewrite runs after the freeze, but the checkpoint lasts CRIU's wall time plus the rewrite.
    expect(next!.supervisor_overhead_ms).toBe(0);
    expect(records.map((r) => r.pages_written)).toEqual(charged.map((r) => r.pages_written));
  });

  it('modes dump and full: CRIU writes the dirty pages, or everything', async () => {
    const memory = 16_384;
    const workload = phased([[2000, 1000]], { workingSetPages: memory });
    const [, dump] = await simulate(base({ durationMs: 1000, workload, cost: { ...DEFAULT_COST, mode: 'dump' } }));
    expect(dump).toMatchObject({ pages_written: 1000, pages_scanned: memory });
    expect(dump!.frozen_us).toBe(
      checkpointCost(DEFAULT_COST, { scanned: memory, criuWritten: 1000, rewritten: 0 }).frozenUs,
    );
    const [, full] = await simulate(base({ durationMs: 1000, workload, cost: { ...DEFAULT_COST, mode: 'full' } }));
    expect(full).toMatchObject({ pages_written: memory, pages_scanned: memory });
  });

  it('rejects bad input with a RangeError', async () => {
    await expect(simulate(base({ durationMs: 0 }))).rejects.toThrow(/duration 0/);
    await expect(simulate(base({ pageSize: 0 }))).rejects.toThrow(/page size 0/);
    await expect(simulate(base({ initialIntervalMs: -1 }))).rejects.toThrow(/initial interval/);
    await expect(
      simulate(base({ cost: { ...FREE, criuWall: { ...FREE.criuWall, baseMs: Number.NaN } } })),
    ).rejects.toThrow(/criuWall.baseMs = NaN/);
    await expect(simulate(base({ policy: { kind: 'threshold', shrink: 2 } }))).rejects.toThrow(RangeError);
    await expect(simulate(base({ startLate: { samplesMs: [3, -1], seed: 1 } }))).rejects.toThrow(/late start of -1 ms/);
    await expect(simulate(base({ startLate: { samplesMs: [3], seed: 0.5 } }))).rejects.toThrow(/seed 0.5/);
  });
});
