import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PredictivePolicy, targetBytes } from '../../src/policy/predictive.js';
import { BAND, MiB, PAGE, linear, noisy, observation, replay, saturating } from './helpers.js';

const policy = new PredictivePolicy();
const TARGET = Math.sqrt(BAND.lminBytes * BAND.lmaxBytes); // 2.83 MiB, the default geometric middle

const inBand = (bytes: number) => bytes >= BAND.lminBytes && bytes <= BAND.lmaxBytes;
// The interval that puts `rate` pages/s exactly at `bytes`, as the policy rounds and clamps it.
const aimed = (bytes: number, rate: number) =>
  Math.min(Math.max(Math.round((bytes / PAGE / rate) * 1000), BAND.minMs), BAND.maxMs);

describe('PredictivePolicy v2 on a constant rate', () => {
  it.each([
    [1000, 200],
    [1000, 5000],
    [250, 100],
    [4000, 2000],
  ])('%i pages/s from %i ms: aims straight at the target on the first observation, then holds', (rate, startMs) => {
    const run = replay(policy, linear(rate), { startMs, steps: 8 });
    // The first observation is the first estimate: no step limit, no fallback.
    expect(run.intervals[1]).toBe(aimed(TARGET, rate));
    expect(run.decisions.slice(1).every((d) => d.decision === 'hold')).toBe(true);
    expect(inBand(linear(rate)(run.intervals.at(-1)!) * PAGE)).toBe(true);
  });

  it('says which rate, from how many observations, and the target', () => {
    const run = replay(policy, linear(1000), { startMs: 200, steps: 3 });
    expect(run.decisions[0]!.reason).toBe('rate 1000 pages/s (newest observation) → 724 ms for target 2.8 MiB');
    expect(run.decisions[2]!.reason).toBe(
      'rate 1000 pages/s (mean of 3 since the last change): 2.8 MiB predicted at 724 ms, within [1.7 MiB, 4.8 MiB] around target 2.8 MiB: hold',
    );
  });

  it('holds inside the deadband on a noisy rate (±20 %): no dithering', () => {
    const run = replay(policy, noisy(linear(1000), 0.2, 7), { startMs: 724, steps: 60 });
    const moves = run.decisions.filter((d) => d.decision !== 'hold');
    expect(moves).toHaveLength(0);
  });

  it('aims at the arithmetic middle when asked', () => {
    const run = replay(new PredictivePolicy({ target: 'arithmetic' }), linear(1000), { startMs: 200, steps: 3 });
    expect(run.intervals[1]).toBe(aimed(4.5 * MiB, 1000)); // (1 + 8) / 2 MiB
    expect(targetBytes(BAND, 'arithmetic')).toBe(4.5 * MiB);
    expect(targetBytes({ ...BAND, lminBytes: 0 }, 'geometric')).toBe(4 * MiB);
  });
});

describe('PredictivePolicy v2 after a change of rate', () => {
  // Settled at 1000 pages/s, then the rate steps ×10 (up) or ÷10 (down) between two checkpoints.
  const settled = () => replay(policy, linear(1000), { startMs: 724, steps: 6 });

  it.each([
    ['up', 10_000],
    ['down', 100],
  ])(
    'a 10× step %s is seen on its first observation, the old rate forgotten at once, and the next size is in band',
    (_, rate) => {
      let { state } = settled();
      const o = observation(724, linear(rate)(724) * PAGE, { pagesWritten: linear(rate)(724) });
      const out = policy.decide(state, o, BAND);
      expect(out.decision.reason).toMatch(
        /^rate changed 1000 pages\/s → \d+ pages\/s: old rates forgotten; rate \d+ pages\/s \(newest observation\) →/,
      );
      expect(out.state.logRates).toHaveLength(1);
      const next = out.decision.nextIntervalMs;
      expect(inBand(linear(rate)(next) * PAGE)).toBe(true);
      state = out.state;
      // And it stays there.
      const after = policy.decide(
        state,
        observation(next, linear(rate)(next) * PAGE, { pagesWritten: linear(rate)(next) }),
        BAND,
      );
      expect(after.decision.decision).toBe('hold');
    },
  );

  it('a lone burst seen in band moves nothing: it waits for a confirmation, then restores the old estimate', () => {
    const { state } = settled();
    // 1.8× the rate for one checkpoint, still in band (5.1 MiB < 8 MiB).
    const burst = policy.decide(state, observation(724, 1300 * PAGE, { pagesWritten: 1300 }), BAND);
    expect(burst.decision).toMatchObject({ decision: 'hold', nextIntervalMs: 724 });
    expect(burst.decision.reason).toMatch(/size 5\.1 MiB in band: hold at 724 ms until the next checkpoint confirms/);
    const back = policy.decide(burst.state, observation(724, 724 * PAGE, { pagesWritten: 724 }), BAND);
    expect(back.decision.decision).toBe('hold');
    expect(back.decision.reason).toMatch(
      /^the previous rate 1796 pages\/s was an outlier; rate 1000 pages\/s \(mean of 7 since the last change\)/,
    );
  });

  it('a moderate change out of band hedges: one interval keeps both the old and the newest rate in the deadband', () => {
    // Band [1, 4] MiB: 2.1× the settled rate gives 4.3 MiB, above lmax, a ratio the deadband can hedge.
    const band = { ...BAND, lmaxBytes: 4 * MiB };
    const settledNarrow = replay(policy, linear(1000), { band, startMs: 512, steps: 6 });
    const out = policy.decide(settledNarrow.state, observation(512, 1100 * PAGE, { pagesWritten: 1100 }), band);
    expect(out.decision.reason).toMatch(/keeps both it and the previous 1000 pages\/s within/);
    const next = out.decision.nextIntervalMs;
    for (const rate of [1000, 2148]) {
      const size = linear(rate)(next) * PAGE;
      expect(size >= band.lminBytes && size <= band.lmaxBytes).toBe(true);
    }
  });
});

describe('PredictivePolicy v2 and bursts (extra writes: they raise a size, never lower one)', () => {
  // Band [1, 4] MiB, target 2 MiB; settled at 200 pages/s (2.56 s for 512 pages).
  const band = { ...BAND, lmaxBytes: 4 * MiB, maxMs: 8000 };
  const settledSlow = () => replay(policy, linear(200), { band, startMs: 2560, steps: 6 });

  it('a fall of the rate in band is acted on at once: a burst cannot explain it', () => {
    const settledFast = replay(policy, linear(2000), { band, startMs: 256, steps: 6 });
    // 1000 pages/s for 256 ms: 256 pages = 1 MiB, still in band, but half the estimate.
    const out = policy.decide(settledFast.state, observation(256, 256 * PAGE, { pagesWritten: 256 }), band);
    expect(out.decision.decision).toBe('grow');
    expect(out.decision.reason).toMatch(/^rate changed 2000 pages\/s → 1000 pages\/s: old rates forgotten/);
  });

  it('a burst out of band is recognised when the old rate comes back, and the aim then leaves room for it', () => {
    const { state } = settledSlow();
    // 800 extra pages in one 2.56 s interval: 1312 pages = 5.1 MiB, above lmax.
    const burst = policy.decide(state, observation(2560, 1312 * PAGE, { pagesWritten: 1312 }), band);
    expect(burst.decision.decision).toBe('shrink');
    const at = burst.decision.nextIntervalMs;
    const back = policy.decide(
      burst.state,
      observation(at, linear(200)(at) * PAGE, { pagesWritten: linear(200)(at) }),
      band,
    );
    expect(back.decision.reason).toMatch(/^the previous rate 513 pages\/s was an outlier; rate 200 pages\/s/);
    expect(back.state.burstPages).toBeCloseTo(800, -1);
    // 4 MiB − 800 pages is below sqrt(lmin · target) = 1.41 MiB: the aim stops there, not at lmin, and the
    // deadband's high edge comes down with it (1.41 × 1.7 = 2.4 MiB).
    expect(back.decision.reason).toMatch(/within \[1\.2 MiB, 2\.4 MiB\] around target 1\.4 MiB: hold$/);
    expect(settledSlow().decisions.at(-1)!.reason).toMatch(/around target 2\.0 MiB: hold$/); // before the burst
  });

  it('forgets a burst it stops seeing: the aim returns to the target', () => {
    const { state } = settledSlow();
    const remembered = { ...state, burstPages: 800 };
    // It halves every 64 decisions: after 700, less than a page is left.
    const run = replay(policy, linear(200), { band, startMs: 1810, steps: 700, state: remembered });
    expect(run.state.burstPages).toBeLessThan(1);
    expect(run.decisions.at(-1)!.reason).toMatch(/around target 2\.0 MiB: hold$/);
  });
});

describe('PredictivePolicy v2 on a saturating workload (size = min(rate × interval, W))', () => {
  it('goes to max once three sizes stay flat while the interval grew, when W ≤ lmax', () => {
    const run = replay(policy, saturating(2000, 150), { startMs: 500, steps: 8 });
    expect(run.intervals.at(-1)).toBe(BAND.maxMs);
    expect(
      run.decisions.some((d) =>
        /^working set saturates at 150 pages \(600\.0 KiB ≤ lmax\): longer intervals no longer raise the size → max 5\.00 s/.test(
          d.reason,
        ),
      ),
    ).toBe(true);
  });

  it('forgets the working set when a size passes it', () => {
    const run = replay(policy, saturating(2000, 150), { startMs: 500, steps: 8 });
    expect(run.state.workingSetPages).toBe(150);
    const grown = policy.decide(run.state, observation(5000, 2000 * PAGE, { pagesWritten: 2000 }), BAND);
    expect(grown.state.workingSetPages).toBeNull();
  });
});

describe('PredictivePolicy v2 parameters and bad observations', () => {
  it('validates each parameter where it is set', () => {
    expect(() => new PredictivePolicy({ window: 0 })).toThrow(
      /^predictive policy: window 0 is not allowed; use a whole number from 1 to 64/,
    );
    expect(() => new PredictivePolicy({ change: 1 })).toThrow(
      /change 1 is not allowed; use a number above 1 and at most 10/,
    );
    expect(() => new PredictivePolicy({ deadband: 0.5 })).toThrow(
      /deadband 0\.5 is not allowed; use a number from 1 to 10/,
    );
    expect(() => new PredictivePolicy({ target: 'median' as never })).toThrow(/target "median" is not allowed/);
    expect(new PredictivePolicy()).toMatchObject({ window: 8, change: 1.5, deadband: 1.7, target: 'geometric' });
  });

  it.each([[{ elapsedMs: 0 }], [{ elapsedMs: Number.NaN }], [{ pagesWritten: -1 }], [{ pageSize: 0 }]])(
    'an unusable observation (%o) holds and leaves the state alone',
    (extra) => {
      const { state } = replay(policy, linear(1000), { startMs: 724, steps: 3 });
      const out = policy.decide(state, observation(724, 2 * MiB, extra), BAND);
      expect(out.decision).toMatchObject({ decision: 'hold', nextIntervalMs: 724 });
      expect(out.decision.reason).toMatch(/^observation not usable/);
      expect(out.state).toBe(state);
    },
  );
});

// The dirty-size probe starts a checkpoint before its interval is up once its reading reaches the aim: the
// observation's elapsed time is then shorter than the interval in force. A burst that starts one early runs
// on into the next window, so two windows in a row see a raised rate: v2 took that for a confirmed rise,
// shrank, and grew back one checkpoint later, until rules 1 and 6 learned about early starts.
describe('PredictivePolicy v2 with the dirty-size probe (checkpoints started before their interval was up)', () => {
  // Issue 11's band: [1, 4] MiB, target 2 MiB (512 pages), [200 ms, 8 s].
  const band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 200, maxMs: 8000 };
  const AIM_PAGES = 512;
  const moves = (decisions: { decision: string }[]) => decisions.map((d) => d.decision).filter((d) => d !== 'hold');
  const reversals = (decisions: { decision: string }[]) =>
    moves(decisions).filter((d, i, all) => i > 0 && d !== all[i - 1]).length;

  // Feeds [elapsed ms, pages] observations, the interval in force being the policy's previous decision.
  function feed(observations: [number, number][], startMs: number, state = policy.initialState()) {
    let intervalMs = startMs;
    const decisions = [];
    for (const [elapsedMs, pages] of observations) {
      const o = observation(intervalMs, pages * PAGE, { elapsedMs, pagesWritten: pages });
      const out = policy.decide(state, o, band);
      decisions.push(out.decision);
      state = out.state;
      intervalMs = out.decision.nextIntervalMs;
    }
    return { decisions, state, intervalMs };
  }

  it('replays a real run without the reversal it made (remusd run, v2 + probe, the dirtier 300:8,40:5,1500:0.6,40:5)', () => {
    // Checkpoints 2-11 of a 75 s run on real CRIU (mode delta, 16 MiB): 300 pages/s, the fall to 40, then
    // the probe starting checkpoint 9 after 404 ms inside the 1500 pages/s burst. It then shrank to 312 ms
    // (a move the probe made needless: the size was at the aim) and grew back to 8 s at checkpoint 10.
    const real: [number, number][] = [
      [817.654, 255],
      [1647.061, 482],
      [1646.194, 511],
      [1647.016, 485],
      [1645.504, 495],
      [2504.294, 249],
      [3306.271, 513],
      [404.114, 508],
      [3630.283, 147],
      [3358.598, 673],
    ];
    const { decisions } = feed(real, 500);
    expect(decisions[7]!.decision).toBe('hold');
    expect(decisions[7]!.reason).toMatch(
      /but the checkpoint started early \(after 404 ms of 2\.96 s\) with 2\.0 MiB, in band: no shorter interval, hold at 2\.96 s$/,
    );
    expect(reversals(decisions)).toBe(0);
  });

  it('a burst the probe splits moves nothing: the rest of it in the next window is not a confirmation', () => {
    // Settled at 200 pages/s (2.56 s for the aim). A burst starts a checkpoint early after 1.3 s at the aim;
    // its rest (400 pages) lands in the next window, which ends at the deadline at 3.56 MiB, still in band.
    const settled = replay(policy, linear(200), { band, startMs: 2560, steps: 6 });
    const { decisions } = feed(
      [
        [1300, AIM_PAGES],
        [2560, 512 + 400],
        [2560, 512],
      ],
      2560,
      settled.state,
    );
    expect(decisions.map((d) => d.decision)).toEqual(['hold', 'hold', 'hold']);
    expect(decisions[1]!.reason).toMatch(
      /^rate 356 pages\/s is still beyond ×1\.5 of the estimate before the rise \(200 pages\/s\), but the rise was seen on a checkpoint started early \(after 1\.30 s of 2\.56 s\)/,
    );
    expect(decisions[2]!.reason).toMatch(/^the previous rate 356 pages\/s was an outlier; rate 200 pages\/s/);
  });

  it('the same raised rates over whole intervals (no probe) still confirm the rise: the rule needs the early start', () => {
    const settled = replay(policy, linear(200), { band, startMs: 2560, steps: 6 });
    const { decisions } = feed(
      [
        [2560, 2 * 512],
        [2560, 2 * 512],
      ],
      2560,
      settled.state,
    );
    expect(decisions.map((d) => d.decision)).toEqual(['hold', 'shrink']);
    expect(decisions[1]!.reason).toMatch(/^change confirmed/);
  });

  it('an early start above lmax still shrinks: the probe was too late for it', () => {
    const settled = replay(policy, linear(200), { band, startMs: 2560, steps: 6 });
    const { decisions } = feed([[1300, 1100]], 2560, settled.state);
    expect(decisions[0]!.decision).toBe('shrink');
  });
});

describe('PredictivePolicy v2 with the dirty-size probe: a property', () => {
  const band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 200, maxMs: 8000 };
  const AIM_PAGES = 512; // sqrt(lmin · lmax) = 2 MiB
  const LMIN_PAGES = 256;

  // The probe as an ideal reader: a window ends as its writes reach the aim, or at the deadline if they are
  // at least lmin by then, or else (defer) as soon as they reach lmin, by max at the latest. Writes: the
  // base rate × the window's noise factor, plus the burst's extra rate while it lasts. 5 ms steps.
  function probedRun(rate: number, noise: number[], burst: { atMs: number; pagesPerSecond: number; ms: number }) {
    const settled = replay(policy, linear(rate), { band, startMs: 2000, steps: 8 });
    let { state } = settled;
    let intervalMs = settled.intervals.at(-1)!;
    let t0 = 0;
    const decisions = [];
    for (const factor of noise) {
      let t = t0;
      let pages = 0;
      for (;;) {
        const extra = t >= burst.atMs && t < burst.atMs + burst.ms ? burst.pagesPerSecond : 0;
        pages += ((rate * factor + extra) * 5) / 1000;
        t += 5;
        const elapsed = t - t0;
        if (pages >= AIM_PAGES || (elapsed >= intervalMs && pages >= LMIN_PAGES) || elapsed >= band.maxMs) break;
      }
      const written = Math.round(pages);
      const o = observation(intervalMs, written * PAGE, { elapsedMs: t - t0, pagesWritten: written });
      const out = policy.decide(state, o, band);
      decisions.push(out.decision.decision);
      state = out.state;
      intervalMs = out.decision.nextIntervalMs;
      t0 = t;
    }
    return decisions;
  }

  it('a constant rate with noise and one burst the probe catches: no reversal', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 80, max: 1500 }),
        fc.array(fc.double({ min: 0.8, max: 1.2, noNaN: true }), { minLength: 12, maxLength: 12 }),
        fc.integer({ min: 0, max: 10_000 }),
        // A burst's extra pages, up to the aim (512), over 100-600 ms. Larger ones (the 4000 pages/s
        // × 200 ms is 800) fill three windows or more, and then the hedge after the fall from the middle
        // window's mixed rate can move the interval by a few ms and back: a move of its own, not covered here.
        fc.integer({ min: 200, max: 512 }),
        fc.integer({ min: 100, max: 600 }),
        (rate, noise, atMs, extraPages, ms) => {
          const decisions = probedRun(rate, noise, { atMs, pagesPerSecond: (extraPages * 1000) / ms, ms });
          const moves = decisions.filter((d) => d !== 'hold');
          const reversals = moves.filter((d, i) => i > 0 && d !== moves[i - 1]);
          expect(reversals, decisions.join(' ')).toHaveLength(0);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
