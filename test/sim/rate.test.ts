import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateIntegral, rateAt, remainder, scheduleOfPhases, writesBetween } from '../../src/sim/rate.js';

const phases = [
  { pagesPerSecond: 1000, durationMs: 1000 },
  { pagesPerSecond: 0, durationMs: 500 },
  { pagesPerSecond: 4000, durationMs: 500 },
];

describe('rate schedules', () => {
  it('integrates piecewise-constant phases', () => {
    const s = scheduleOfPhases(phases, false);
    expect(writesBetween(s, 0, 1000)).toBe(1000);
    expect(writesBetween(s, 500, 1500)).toBe(500);
    expect(writesBetween(s, 0, 2000)).toBe(3000);
    expect(writesBetween(s, 1250, 1750)).toBe(1000);
    expect(writesBetween(s, 100, 100)).toBe(0);
    expect(writesBetween(s, -500, 500)).toBe(500); // nothing before 0
  });

  it('cycling phases repeat with the period of the whole list', () => {
    const s = scheduleOfPhases(phases, true);
    expect(writesBetween(s, 2000, 4000)).toBe(3000);
    expect(writesBetween(s, 0, 20_000)).toBe(30_000);
    expect(rateAt(s, 2100)).toBe(1);
    expect(rateAt(s, 3900)).toBe(4);
  });

  it('without cycling, the last rate holds past the end', () => {
    const s = scheduleOfPhases(phases, false);
    expect(writesBetween(s, 2000, 3000)).toBe(4000);
    expect(rateAt(s, 10_000)).toBe(4);
    expect(rateAt(s, -1)).toBe(0);
  });

  it('is additive: writes(a, c) = writes(a, b) + writes(b, c)', () => {
    const s = scheduleOfPhases(phases, true);
    for (const [a, b, c] of [
      [0, 700, 5300],
      [1234, 1999, 2001],
      [10, 10, 10_000],
    ] as const) {
      expect(writesBetween(s, a, c)).toBeCloseTo(writesBetween(s, a, b) + writesBetween(s, b, c), 9);
    }
  });

  it('refuses empty, negative or zero-length phases', () => {
    expect(() => scheduleOfPhases([], true)).toThrow(/at least one phase/);
    expect(() => scheduleOfPhases([{ pagesPerSecond: -1, durationMs: 10 }], true)).toThrow(/phase 1: rate -1/);
    expect(() => scheduleOfPhases([{ pagesPerSecond: 1, durationMs: 0 }], true)).toThrow(/phase 1: duration 0/);
  });

  it('the prepared integral is the plain sum over the segments, to the last bit, for many segments', () => {
    // A trace-like schedule: one segment per record, irregular lengths and rates.
    const many = scheduleOfPhases(
      Array.from({ length: 500 }, (_, i) => ({
        pagesPerSecond: (i * 7919) % 3001,
        durationMs: 37 + ((i * 104_729) % 411) / 7,
      })),
      false,
    );
    const plain = (t: number) =>
      many.segments.reduce((sum, s) => sum + s.pagesPerMs * Math.max(0, Math.min(t, s.endMs) - s.startMs), 0);
    const end = many.segments.at(-1)!.endMs;
    for (let k = 0; k <= 1000; k++) {
      const t = (end * k) / 997;
      expect(writesBetween(many, 0, t)).toBe(
        t <= end ? plain(t) : plain(end) + (t - end) * many.segments.at(-1)!.pagesPerMs,
      );
    }
  });

  it('segments that do not lie end to end are summed one by one', () => {
    const gappy = {
      segments: [
        { startMs: 0, endMs: 100, pagesPerMs: 1 },
        { startMs: 200, endMs: 300, pagesPerMs: 2 },
      ],
      cycle: false,
    };
    expect(writesBetween(gappy, 0, 150)).toBe(100);
    expect(writesBetween(gappy, 0, 250)).toBe(200);
    expect(new RateIntegral(gappy).between(0, 300)).toBe(300);
  });

  it('remainder is %, to the last bit: times near and at multiples of whole periods, and any other period', () => {
    const period = fc.oneof(fc.integer({ min: 1, max: 2 ** 40 }), fc.double({ min: 1e-3, max: 1e9, noNaN: true }));
    const time = fc.oneof(
      fc.double({ min: 0, max: 2 ** 53, noNaN: true }),
      // A multiple of the period, and the doubles just around it (where t / period rounds to a whole number).
      fc.tuple(fc.integer({ min: 0, max: 2 ** 30 }), fc.integer({ min: -3, max: 3 })).map(([k, ulps]) => [k, ulps]),
    );
    fc.assert(
      fc.property(period, time, (p, t) => {
        const at = Array.isArray(t) ? nudged(t[0]! * p, t[1]!) : t;
        expect(Object.is(remainder(at, p), at % p)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
  });
});

// x moved by n units in its last place (n < 0: down), through its bits.
function nudged(x: number, n: number): number {
  if (x === 0 || n === 0) return Math.max(0, x);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  view.setBigUint64(0, view.getBigUint64(0) + BigInt(n));
  return view.getFloat64(0);
}
