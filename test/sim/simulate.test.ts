import { describe, expect, it } from 'vitest';
import { step, type LoopState } from '../../src/loop/step.js';
import { createPolicy } from '../../src/policy/index.js';
import { DEFAULT_COST } from '../../src/sim/cost.js';
import { simulate, type SimulationInput } from '../../src/sim/simulate.js';
import { BAND, FREE, MiB, PAGE, phased } from './helpers.js';

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

describe('simulate', () => {
  it('is deterministic: the same seed gives identical records, another seed different ones', () => {
    const run = (seed: number) =>
      simulate(base({ policy: { kind: 'predictive' }, workload: phased([[8000, 10], [200, 10], [1500, 10]], { workingSetPages: 16384, noise: 0.3, seed, bursts: { pagesPerSecond: 20_000, durationMs: 200, everyMs: 3000 } }) }));
    expect(JSON.stringify(run(7))).toBe(JSON.stringify(run(7)));
    expect(JSON.stringify(run(7))).not.toBe(JSON.stringify(run(8)));
  });

  it('writes records.jsonl-shaped records with mode sim, virtual times and the policy reasons', () => {
    const records = simulate(base({ durationMs: 2000, epoch: new Date('2026-01-01T00:00:00Z') }));
    expect(records[0]).toMatchObject({ seq: 1, mode: 'sim', start: '2026-01-01T00:00:00.500Z', at_ms: 500, elapsed_ms: 500, interval_ms: 500, pages_written: 1000, size_bytes: 1000 * PAGE, overrun: false });
    expect(records[0]!.reason).toMatch(/within \[lmin/);
    expect(records.map((r) => r.seq)).toEqual(records.map((_, i) => i + 1));
    expect(records.every((r) => r.at_ms < 2000)).toBe(true);
  });

  it('on a linear workload the threshold rule brings the interval into the band and holds it there', () => {
    // 2000 pages/s = 7.8 MiB/s: the band [1, 8] MiB is [134 ms, 1074 ms] of interval.
    const down = simulate(base({ initialIntervalMs: 5000 }));
    expect(down.slice(0, 4).map((r) => r.decision)).toEqual(['shrink', 'shrink', 'shrink', 'hold']);
    expect(down[3]!.interval_ms).toBe(625);
    for (const r of down.slice(3)) {
      expect(r.size_bytes).toBeGreaterThanOrEqual(BAND.lminBytes);
      expect(r.size_bytes).toBeLessThanOrEqual(BAND.lmaxBytes);
      expect(r.decision).toBe('hold');
    }
    // 500 pages/s from the bottom: 200 → 300 → 450 → 675 ms (1.3 MiB) and hold.
    const up = simulate(base({ initialIntervalMs: 200, workload: phased([[500, 1000]]) }));
    expect(up.slice(0, 4).map((r) => r.interval_ms)).toEqual([200, 300, 450, 675]);
    expect(up.slice(3).every((r) => r.decision === 'hold')).toBe(true);
  });

  it('on a workload saturating below lmin the interval goes to max and stays there', () => {
    // W = 128 pages = 0.5 MiB < lmin: no interval makes a checkpoint big enough.
    const records = simulate(base({ workload: phased([[50_000, 1000]], { workingSetPages: 128 }), durationMs: 60_000 }));
    expect(records.every((r) => r.pages_written <= 128)).toBe(true);
    expect(records.every((r) => r.decision !== 'shrink')).toBe(true);
    const last = records[records.length - 1]!;
    expect(last.interval_ms).toBe(BAND.maxMs);
    expect(last.next_interval_ms).toBe(BAND.maxMs);
  });

  it('schedules start to start, like step(): next start = start + next interval', () => {
    const records = simulate(base({ workload: phased([[8000, 5], [300, 5]], { workingSetPages: 16384 }) }));
    for (let i = 1; i < records.length; i++) {
      expect(records[i]!.at_ms).toBeCloseTo(records[i - 1]!.at_ms + records[i - 1]!.next_interval_ms, 6);
      expect(records[i]!.elapsed_ms).toBeCloseTo(records[i - 1]!.next_interval_ms, 6);
    }
  });

  it('decides exactly what the step and the policy decide for the same observations', () => {
    const workload = phased([[8000, 3], [100, 3]], { noise: 0.2, seed: 4 });
    const records = simulate(base({ policy: { kind: 'predictive' }, workload, cost: FREE }));
    const policy = createPolicy({ kind: 'predictive' });
    let state: LoopState = { intervalMs: 500, policyState: policy.initialState() };
    let last = 0;
    for (const r of records) {
      const pages = workload.pages(last, r.at_ms);
      const out = step(policy, state, { observation: { seq: r.seq, intervalMs: state.intervalMs, elapsedMs: r.at_ms - last, sizeBytes: pages * PAGE, pagesWritten: pages, frozenUs: 0, pageSize: PAGE }, unmeasured: undefined, startedAtMs: r.at_ms, finishedAtMs: r.at_ms }, BAND);
      expect(r.reason).toBe(out.decision.reason);
      expect(r.next_interval_ms).toBeCloseTo(out.decision.nextIntervalMs, 3);
      state = out.state;
      last = r.at_ms;
    }
  });

  it('a checkpoint longer than the interval overruns and the next starts when it ends', () => {
    const slow = { frozenBaseMs: 50, frozenPerPageUs: 0, wallBaseMs: 300, wallPerPageUs: 0 };
    const records = simulate(base({ policy: { kind: 'fixed' }, initialIntervalMs: 200, cost: slow, durationMs: 3000 }));
    expect(records.every((r) => r.overrun)).toBe(true);
    expect(records.slice(1).every((r) => r.elapsed_ms === 300)).toBe(true);
    expect(records[0]!.frozen_us).toBe(50_000);
    expect(records[0]!.criu_wall_ms).toBe(300);
  });

  it('costs follow the cost model and sizes the page size', () => {
    const [r] = simulate(base({ durationMs: 600, pageSize: 16384 }));
    expect(r!.size_bytes).toBe(1000 * 16384);
    expect(r!.frozen_us).toBe(Math.round(4000 + 1.65 * 1000));
    expect(r!.size_bytes / MiB).toBeCloseTo(15.6, 1);
  });

  it('rejects bad input with a RangeError', () => {
    expect(() => simulate(base({ durationMs: 0 }))).toThrow(/duration 0/);
    expect(() => simulate(base({ pageSize: 0 }))).toThrow(/page size 0/);
    expect(() => simulate(base({ initialIntervalMs: -1 }))).toThrow(/initial interval/);
    expect(() => simulate(base({ cost: { ...FREE, wallBaseMs: -5 } }))).toThrow(/wallBaseMs/);
    expect(() => simulate(base({ policy: { kind: 'threshold', shrink: 2 } }))).toThrow(RangeError);
  });
});
