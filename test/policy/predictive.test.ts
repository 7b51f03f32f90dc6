import { describe, expect, it } from 'vitest';
import { PredictivePolicy, targetBytes } from '../../src/policy/predictive.js';
import { BAND, MiB, PAGE, linear, noisy, observation, replay, saturating } from './helpers.js';

const policy = new PredictivePolicy();
const TARGET = Math.sqrt(BAND.lminBytes * BAND.lmaxBytes); // 2.83 MiB, the default geometric middle

const inBand = (bytes: number) => bytes >= BAND.lminBytes && bytes <= BAND.lmaxBytes;

describe('PredictivePolicy on a linear workload (size = rate × interval)', () => {
  it.each([
    [1000, 200],
    [1000, 5000],
    [250, 100],
    [4000, 2000],
  ])('%i pages/s from %i ms: converges into the band and aims at the target', (rate, startMs) => {
    const run = replay(policy, linear(rate), { startMs, steps: 10 });
    const last = run.intervals.at(-1)!;
    expect(inBand(linear(rate)(last) * PAGE)).toBe(true);
    const wanted = Math.min(Math.max(Math.round((TARGET / PAGE / rate) * 1000), BAND.minMs), BAND.maxMs);
    expect(Math.abs(last - wanted)).toBeLessThanOrEqual(1);
    expect(run.decisions.some((d) => d.reason.startsWith(`predicted rate ${rate} pages/s`))).toBe(true);
  });

  it('reports the rate, the number of observations and the target', () => {
    const run = replay(policy, linear(1000), { startMs: 200, steps: 3 });
    expect(run.decisions[2]?.reason).toBe('predicted rate 1000 pages/s (fit from 3 obs) → 724 ms for target 2.8 MiB');
    expect(run.intervals[3]).toBe(724);
  });

  it('limits each step to ×4 / ÷4 and says so', () => {
    const run = replay(policy, linear(50), { startMs: 200, steps: 4 });
    expect(run.intervals).toEqual([200, 300, 450, 1800, 5000]);
    expect(run.decisions[2]?.reason).toContain('limited to ×4 per step: 450 ms → 1.80 s');
    expect(run.decisions[3]?.reason).toContain('clamped to max 5.00 s');
    const down = replay(policy, linear(20000), { startMs: 5000, steps: 4 });
    expect(down.intervals).toEqual([5000, 2500, 1250, 313, 100]);
    expect(down.decisions[2]?.reason).toContain('limited to ÷4 per step');
  });

  it('converges on a noisy workload (±20 %) without seeing a working set', () => {
    const run = replay(policy, noisy(linear(1000), 0.2, 7), { startMs: 200, steps: 30 });
    for (const interval of run.intervals.slice(5)) expect(inBand(1000 * interval * PAGE / 1000)).toBe(true);
    expect(run.decisions.every((d) => !d.reason.includes('working set'))).toBe(true);
  });

  it('aims at the arithmetic middle when asked', () => {
    const arithmetic = new PredictivePolicy({ target: 'arithmetic' });
    const run = replay(arithmetic, linear(1000), { startMs: 200, steps: 6 });
    // (1 + 8) / 2 = 4.5 MiB = 1152 pages at 1000 pages/s.
    expect(run.intervals.at(-1)).toBe(1152);
  });
});

describe('PredictivePolicy on a saturating workload (size = min(rate × interval, W))', () => {
  it('picks max when the working set lies below the band', () => {
    const run = replay(policy, saturating(2000, 150), { startMs: 500, steps: 6 });
    expect(run.intervals.at(-1)).toBe(BAND.maxMs);
    expect(run.decisions[2]?.reason).toMatch(
      /^working set saturates at 150 pages \(600\.0 KiB, 3 of 3 obs on the plateau\) below target 2\.8 MiB: longer intervals no longer raise the size → max 5\.00 s/,
    );
  });

  it('picks max when the working set is in the band but below the target', () => {
    // W = 500 pages = 1.95 MiB: in the band, below the 2.83 MiB target. It first aims at 724 ms on the
    // linear estimate, sees the size stop at W there, and then goes to max.
    const run = replay(policy, saturating(1000, 500), { startMs: 100, steps: 10 });
    expect(run.intervals.at(-1)).toBe(BAND.maxMs);
    expect(run.decisions.some((d) => d.reason.startsWith('working set saturates at 500 pages'))).toBe(true);
  });

  it('aims on the linear part when the working set is above the target', () => {
    // W = 5000 pages = 19.5 MiB, above lmax: starting at max, it must shrink to 724 pages / 4 pages/ms.
    const run = replay(policy, saturating(4000, 5000), { startMs: 5000, steps: 10 });
    const last = run.intervals.at(-1)!;
    expect(Math.abs(last - 181)).toBeLessThanOrEqual(1);
    expect(inBand(saturating(4000, 5000)(last) * PAGE)).toBe(true);
    expect(run.decisions.some((d) => d.reason.includes('up to a working set of 5000 pages (19.5 MiB)'))).toBe(true);
  });
});

describe('PredictivePolicy robustness', () => {
  it('shrugs off one outlier observation', () => {
    const clean = replay(policy, linear(1000), { startMs: 200, steps: 12 });
    const spiked = replay(policy, linear(1000), {
      startMs: 200,
      steps: 12,
      // One checkpoint after convergence writes 10× the pages (e.g. a burst): 28 MiB, far above lmax.
      perturb: (o, i) => (i === 6 ? { ...o, pagesWritten: o.pagesWritten * 10, sizeBytes: o.sizeBytes * 10 } : o),
    });
    expect(spiked.intervals).toEqual(clean.intervals);
    expect(spiked.decisions[6]).toMatchObject({ decision: 'hold' });
    expect(spiked.decisions[6]?.reason).toMatch(/^predicted rate 1000 pages\/s/);
  });

  it('falls back to threshold when the estimate moves against the observed size', () => {
    // Six checkpoints of a 250 pages/s workload, then it speeds up 40×: the median still says grow.
    let state = policy.initialState();
    for (const [t, pages] of [[200, 50], [400, 100], [800, 200], [1600, 400], [2400, 600], [2800, 700]] as const) {
      state = policy.decide(state, observation(t, pages * PAGE, { pagesWritten: pages }), BAND).state;
    }
    const { decision } = policy.decide(state, observation(400, 4000 * PAGE, { pagesWritten: 4000 }), BAND);
    expect(decision.decision).toBe('shrink');
    expect(decision.reason).toMatch(/^fallback to threshold: prediction .* goes against the observed size 15\.6 MiB > lmax 8\.0 MiB; /);
    expect(decision.nextIntervalMs).toBe(200);
  });

  it('does not hold twice in a row out of the band: a lasting rate change moves the interval at once', () => {
    // Quiet observations (200 pages/s) have settled the interval at 3.62 s (target 2.8 MiB), then the rate
    // jumps to 1500 pages/s: the median of the window still says 200 pages/s, so the prediction holds at
    // 3.62 s with sizes far above lmax.
    let state = policy.initialState();
    for (const t of [2000, 2500, 3000, 3620, 3620, 3620]) {
      state = policy.decide(state, observation(t, 200 * t / 1000 * PAGE, { pagesWritten: (200 * t) / 1000 }), BAND).state;
    }
    const busy = (t: number) => observation(t, (1500 * t / 1000) * PAGE, { pagesWritten: (1500 * t) / 1000 });
    const first = policy.decide(state, busy(3620), BAND); // 21.2 MiB > lmax: one outlier may be held
    expect(first.decision).toMatchObject({ nextIntervalMs: 3620, decision: 'hold' });
    const second = policy.decide(first.state, busy(3620), BAND);
    expect(second.decision.decision).toBe('shrink');
    expect(second.decision.reason).toMatch(/^fallback to threshold: two sizes in a row out of the band/);
    expect(second.decision.nextIntervalMs).toBe(1810);
  });

  it('falls back with a reason: too few observations, one interval, poor fit, unusable input', () => {
    let state = policy.initialState();
    const first = policy.decide(state, observation(200, 24 * MiB), BAND);
    expect(first.decision.reason).toBe(
      'fallback to threshold: only 1 observation; size 24.0 MiB > lmax 8.0 MiB: interval 200 ms × 0.5 → 100 ms',
    );
    state = policy.initialState();
    for (let i = 0; i < 3; i++) state = policy.decide(state, observation(1000, 4 * MiB), BAND).state;
    expect(policy.decide(state, observation(1000, 4 * MiB), BAND).decision.reason).toMatch(
      /^fallback to threshold: all 4 observations at the same interval \(≈ 1000 ms\), no slope; size 4\.0 MiB within/,
    );
    state = policy.initialState();
    // Rates 1, 5, 2, 4, 0.5 pages/ms: no single rate describes this workload.
    const bursty = [[100, 100], [200, 1000], [300, 600], [400, 1600], [500, 250]] as const;
    let last = '';
    for (const [t, pages] of bursty) {
      const out = policy.decide(state, observation(t, pages * PAGE, { pagesWritten: pages }), BAND);
      state = out.state;
      last = out.decision.reason;
    }
    expect(last).toMatch(/^fallback to threshold: poor fit from 5 observations \(median error \d+ % > 30 %\); /);
    const nan = policy.decide(state, observation(200, 4 * MiB, { elapsedMs: Number.NaN }), BAND);
    expect(nan.decision.reason).toMatch(/^fallback to threshold: observation not usable/);
    expect(nan.state.window).toBe(state.window);
    const noPage = policy.decide(state, observation(200, 4 * MiB, { pageSize: 0 }), BAND);
    expect(noPage.decision.reason).toMatch(/^fallback to threshold: page size 0 not usable/);
  });

  it('keeps its state explicit: the window, capped, and never mutated', () => {
    const small = new PredictivePolicy({ window: 3 });
    const s0 = small.initialState();
    const s1 = small.decide(s0, observation(100, 1 * MiB), BAND).state;
    expect(s0.window).toEqual([]);
    let s = s1;
    for (const t of [200, 300, 400]) s = small.decide(s, observation(t, 1 * MiB), BAND).state;
    expect(s.window.map((x) => x.elapsedMs)).toEqual([200, 300, 400]);
    expect(s1.window.map((x) => x.elapsedMs)).toEqual([100]);
  });

  it('validates each option where it is set', () => {
    expect(() => new PredictivePolicy({ window: 2 })).toThrow(
      'predictive policy: window 2 is not allowed; use a whole number from 3 to 64',
    );
    expect(() => new PredictivePolicy({ window: 8.5 })).toThrow(RangeError);
    expect(() => new PredictivePolicy({ maxStep: 1 })).toThrow('predictive policy: maxStep 1 is not allowed');
    expect(() => new PredictivePolicy({ maxFitError: 0 })).toThrow(RangeError);
    expect(() => new PredictivePolicy({ shrink: 1.5 })).toThrow('predictive policy: shrink 1.5 is not allowed');
    expect(() => new PredictivePolicy({ grow: 1 })).toThrow('predictive policy: grow 1 is not allowed');
    // @ts-expect-error: not a target rule
    expect(() => new PredictivePolicy({ target: 'median' })).toThrow('target "median" is not allowed');
  });
});

describe('targetBytes', () => {
  it('is the geometric middle, or the arithmetic one when asked or when lmin is 0', () => {
    expect(targetBytes({ ...BAND, lminBytes: 1 * MiB, lmaxBytes: 16 * MiB }, 'geometric')).toBe(4 * MiB);
    expect(targetBytes({ ...BAND, lminBytes: 0, lmaxBytes: 16 * MiB }, 'geometric')).toBe(8 * MiB);
    expect(targetBytes({ ...BAND, lminBytes: 2 * MiB, lmaxBytes: 16 * MiB }, 'arithmetic')).toBe(9 * MiB);
  });
});
