import { describe, expect, it } from 'vitest';
import { ThresholdPolicy, judgeSize } from '../../src/policy/threshold.js';
import { BAND, MiB, observation, replay, linear } from './helpers.js';

const policy = new ThresholdPolicy();
const decide = (intervalMs: number, sizeBytes: number, band = BAND) =>
  policy.decide(undefined, observation(intervalMs, sizeBytes), band).decision;

describe('ThresholdPolicy band edges', () => {
  it('holds at exactly lmax and exactly lmin', () => {
    expect(decide(200, BAND.lmaxBytes)).toMatchObject({ nextIntervalMs: 200, decision: 'hold' });
    expect(decide(200, BAND.lminBytes)).toMatchObject({ nextIntervalMs: 200, decision: 'hold' });
  });

  it('shrinks one byte above lmax', () => {
    const d = decide(200, BAND.lmaxBytes + 1);
    expect(d).toMatchObject({ nextIntervalMs: 100, decision: 'shrink' });
    // Rounded figures would read "8.0 MiB > lmax 8.0 MiB", so the reason falls back to bytes.
    expect(d.reason).toBe('size 8388609 B > lmax 8388608 B: interval 200 ms × 0.5 → 100 ms');
  });

  it('holds one byte below lmax and one byte above lmin', () => {
    expect(decide(200, BAND.lmaxBytes - 1).decision).toBe('hold');
    expect(decide(200, BAND.lminBytes + 1).decision).toBe('hold');
  });

  it('grows one byte below lmin', () => {
    expect(decide(200, BAND.lminBytes - 1)).toMatchObject({ nextIntervalMs: 300, decision: 'grow' });
  });

  it('treats lmin = lmax as a one-value band', () => {
    const band = { ...BAND, lminBytes: 4 * MiB, lmaxBytes: 4 * MiB };
    expect(decide(200, 4 * MiB, band).decision).toBe('hold');
    expect(decide(200, 4 * MiB + 1, band).decision).toBe('shrink');
    expect(decide(200, 4 * MiB - 1, band).decision).toBe('grow');
  });
});

describe('ThresholdPolicy rule', () => {
  it('says which rule fired, with the numbers', () => {
    expect(decide(200, 24 * MiB).reason).toBe('size 24.0 MiB > lmax 8.0 MiB: interval 200 ms × 0.5 → 100 ms');
    expect(decide(200, 0.5 * MiB).reason).toBe('size 512.0 KiB < lmin 1.0 MiB: interval 200 ms × 1.5 → 300 ms');
    expect(decide(200, 4 * MiB).reason).toBe('size 4.0 MiB within [lmin 1.0 MiB, lmax 8.0 MiB]: hold at 200 ms');
  });

  it('grows on zero pages, even when lmin is 0', () => {
    expect(decide(200, 0)).toMatchObject({ nextIntervalMs: 300, decision: 'grow' });
    expect(decide(200, 0).reason).toMatch(/^no dirty pages \(size 0 B\)/);
    expect(decide(200, 0, { ...BAND, lminBytes: 0 }).decision).toBe('grow');
  });

  it('applies custom shrink and grow factors', () => {
    const custom = new ThresholdPolicy({ shrink: 0.8, grow: 2 });
    expect(custom.decide(undefined, observation(1000, 24 * MiB), BAND).decision.nextIntervalMs).toBe(800);
    expect(custom.decide(undefined, observation(1000, 0.1 * MiB), BAND).decision.nextIntervalMs).toBe(2000);
  });

  it('rounds away from the interval so that small factors still move it', () => {
    const slow = new ThresholdPolicy({ grow: 1.01, shrink: 0.99 });
    const band = { ...BAND, minMs: 1 };
    expect(slow.decide(undefined, observation(10, 0), band).decision.nextIntervalMs).toBe(11);
    expect(slow.decide(undefined, observation(10, 24 * MiB), band).decision.nextIntervalMs).toBe(9);
  });
});

describe('ThresholdPolicy clamps', () => {
  it('clamps a shrink at min and says so', () => {
    const d = decide(150, 24 * MiB);
    expect(d).toMatchObject({ nextIntervalMs: 100, decision: 'shrink' });
    expect(d.reason).toBe('size 24.0 MiB > lmax 8.0 MiB: interval 150 ms × 0.5 → 75 ms, clamped to min 100 ms');
  });

  it('holds when already at min', () => {
    const d = decide(100, 24 * MiB);
    expect(d).toMatchObject({ nextIntervalMs: 100, decision: 'hold' });
    expect(d.reason).toBe('size 24.0 MiB > lmax 8.0 MiB: interval 100 ms already at min, hold');
  });

  it('clamps a grow at max and holds when already at max', () => {
    expect(decide(4000, 0)).toMatchObject({ nextIntervalMs: 5000, decision: 'grow' });
    expect(decide(4000, 0).reason).toContain('clamped to max 5.00 s');
    const d = decide(5000, 0);
    expect(d).toMatchObject({ nextIntervalMs: 5000, decision: 'hold' });
    expect(d.reason).toContain('already at max');
  });

  it('brings an interval outside a reloaded band back in, and says so', () => {
    const d = decide(50, 4 * MiB);
    expect(d).toMatchObject({ nextIntervalMs: 100, decision: 'grow' });
    expect(d.reason).toContain('(interval in force 50 ms was below min 100 ms)');
    expect(decide(9000, 4 * MiB)).toMatchObject({ nextIntervalMs: 5000, decision: 'shrink' });
  });

  it('converges to min under repeated shrinking and stays there', () => {
    const run = replay(policy, () => 10_000, { startMs: 5000, steps: 10 });
    expect(run.intervals).toEqual([5000, 2500, 1250, 625, 312, 156, 100, 100, 100, 100, 100]);
    expect(run.decisions.at(-1)?.decision).toBe('hold');
  });

  it('settles in the band on a linear workload', () => {
    // 1000 pages/s: 4 MiB per second, so any interval from 256 ms to 2048 ms is in the band.
    const run = replay(policy, linear(1000), { startMs: 100, steps: 10 });
    expect(run.intervals.at(-1)).toBeGreaterThanOrEqual(256);
    expect(run.intervals.at(-1)).toBeLessThanOrEqual(2048);
    expect(run.decisions.at(-1)?.decision).toBe('hold');
  });
});

describe('ThresholdPolicy robustness', () => {
  it('holds on a size that is not a number', () => {
    expect(decide(200, Number.NaN)).toMatchObject({ nextIntervalMs: 200, decision: 'hold' });
    expect(decide(200, -1).reason).toMatch(/not a valid size/);
  });

  it('rejects factors out of range where they are set', () => {
    expect(() => new ThresholdPolicy({ shrink: 1 })).toThrow(
      'threshold policy: shrink 1 is not allowed; use a number between 0 and 1, exclusive',
    );
    expect(() => new ThresholdPolicy({ shrink: 0 })).toThrow(RangeError);
    expect(() => new ThresholdPolicy({ grow: 1 })).toThrow('threshold policy: grow 1 is not allowed');
    expect(() => new ThresholdPolicy({ grow: 0.5 })).toThrow(RangeError);
    expect(() => new ThresholdPolicy({ grow: Number.NaN })).toThrow(RangeError);
    expect(() => new ThresholdPolicy({ grow: 11 })).toThrow(RangeError);
  });

  it('rejects a band no policy can work within', () => {
    expect(() => decide(200, 0, { ...BAND, minMs: 600, maxMs: 500 })).toThrow(/band/);
    expect(() => decide(200, 0, { ...BAND, lminBytes: 9 * MiB })).toThrow(/band/);
  });

  it('judges sizes without an interval', () => {
    expect(judgeSize(observation(200, 9 * MiB), BAND).intent).toBe('shrink');
    expect(judgeSize(observation(200, 0), BAND).intent).toBe('grow');
  });
});
