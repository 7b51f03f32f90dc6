import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NoisyWrites } from '../../src/sim/noisy-writes.js';
import { lognormalFactorAt } from '../../src/sim/random.js';
import { RateIntegral, scheduleOfPhases, type RateSchedule } from '../../src/sim/rate.js';

// The walk NoisyWrites replaces (workload.ts before it): per noise slot, the integral's cumulative writes at both
// ends of the slot, each taken afresh, times the slot's factor drawn afresh. `slotWrites` says how a slot's writes
// are taken (the negative control below swaps in a formula that is right but for its last bits).
function walkOfCalls(
  integral: RateIntegral,
  slotMs: number,
  seed: number,
  sigma: number,
  slotWrites = (a: number, b: number) => integral.cumulative(b) - integral.cumulative(a),
): (t0: number, t1: number) => number {
  return (t0, t1) => {
    let sum = 0;
    for (let k = Math.floor(t0 / slotMs); k * slotMs < t1; k++) {
      const a = Math.max(t0, k * slotMs);
      const b = Math.min(t1, (k + 1) * slotMs);
      if (b > a) sum += slotWrites(a, b) * lognormalFactorAt(seed, k, sigma);
    }
    return sum;
  };
}

// Schedules of each kind RateIntegral prepares: cycling with a whole period (NoisyWrites' in-place formula), with
// a fractional one, and holding its last rate (both through RateIntegral's own cumulative()).
const schedules: fc.Arbitrary<RateSchedule> = fc
  .tuple(
    fc.array(
      fc.record({
        pagesPerSecond: fc.oneof(fc.integer({ min: 0, max: 20_000 }), fc.double({ min: 0, max: 2e4, noNaN: true })),
        durationMs: fc.oneof(
          { weight: 4, arbitrary: fc.integer({ min: 1, max: 60_000 }) },
          { weight: 1, arbitrary: fc.double({ min: 0.5, max: 6e4, noNaN: true }) },
        ),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  )
  .map(([phases, cycle]) => scheduleOfPhases(phases, cycle));

// Windows as a simulation asks for them: mostly each starting where the one before ended, sometimes after a gap
// or overlapping it, from a start near 0 or far into a run (2⁵² ms and past: RateIntegral's `%` path).
const windows = fc.tuple(
  fc.oneof(
    fc.constant(0),
    fc.double({ min: 0, max: 1e8, noNaN: true }),
    fc.integer({ min: 0, max: 1e9 }),
    fc.constant(2 ** 52 - 3000),
  ),
  fc.array(
    fc.tuple(
      fc.double({ min: 0, max: 3000, noNaN: true }),
      fc.oneof(
        { weight: 4, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.double({ min: -500, max: 500, noNaN: true }) },
      ),
    ),
    { minLength: 1, maxLength: 25 },
  ),
);

const noise = fc.tuple(
  fc.oneof(fc.constant(100), fc.integer({ min: 5, max: 500 }), fc.double({ min: 5, max: 300, noNaN: true })),
  fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  fc.oneof(fc.constant(0.2), fc.double({ min: 0.01, max: 2, noNaN: true })),
);

// Whether NoisyWrites gives walk's numbers to the last bit over every window (Object.is: -0 and NaN too).
function sameBits(
  schedule: RateSchedule,
  [start, steps]: [number, [number, number][]],
  [slotMs, seed, sigma]: [number, number, number],
  walk = walkOfCalls,
): boolean {
  const integral = new RateIntegral(schedule);
  const inPlace = new NoisyWrites(integral, slotMs, seed, sigma);
  const reference = walk(integral, slotMs, seed, sigma);
  let t0 = start;
  for (const [length, shift] of steps) {
    t0 = Math.max(0, t0 + shift);
    const t1 = t0 + length;
    if (!Object.is(inPlace.between(t0, t1), reference(t0, t1))) return false;
    t0 = t1;
  }
  return true;
}

describe("NoisyWrites: the workload model's noisy writes in one method", () => {
  it('gives the walk over RateIntegral.cumulative and lognormalFactorAt, to the last bit', () => {
    fc.assert(
      fc.property(schedules, windows, noise, (schedule, w, n) => {
        expect(sameBits(schedule, w, n)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('on the compare workload over a simulated hour of adjacent windows', () => {
    const schedule = scheduleOfPhases(
      [
        { pagesPerSecond: 2000, durationMs: 20_000 },
        { pagesPerSecond: 200, durationMs: 20_000 },
      ],
      true,
    );
    expect(new RateIntegral(schedule).inPlace).toBeDefined();
    const steps = Array.from({ length: 9000 }, (_, i): [number, number] => [200 + ((i * 7919) % 600) + i / 7, 0]);
    expect(sameBits(schedule, [0, steps], [100, 12345, 0.2])).toBe(true);
  });

  it('negative control: a slot taken as rate × length (right but for its last bits) is told apart', () => {
    const schedule = scheduleOfPhases([{ pagesPerSecond: 1234.5, durationMs: 10_000 }], true);
    const rateTimesLength = (integral: RateIntegral, slotMs: number, seed: number, sigma: number) =>
      walkOfCalls(integral, slotMs, seed, sigma, (a, b) => 1.2345 * (b - a));
    const steps = Array.from({ length: 200 }, (_, i): [number, number] => [137.3 + i, 0]);
    // Equal to within rounding (what a looser test would accept), yet not bit for bit.
    const integral = new RateIntegral(schedule);
    const loose = walkOfCalls(integral, 100, 7, 0.2, (a, b) => 1.2345 * (b - a));
    expect(new NoisyWrites(integral, 100, 7, 0.2).between(0, 5000) / loose(0, 5000)).toBeCloseTo(1, 12);
    expect(sameBits(schedule, [0, steps], [100, 7, 0.2], rateTimesLength)).toBe(false);
  });

  it("its factors are lognormalFactorAt's, in any order", () => {
    const writes = new NoisyWrites(
      new RateIntegral(scheduleOfPhases([{ pagesPerSecond: 1, durationMs: 1 }], true)),
      100,
      9,
      0.2,
    );
    // In order, backwards, and jumping by the cache's size (every index then shares one slot).
    const indexes = [
      ...Array.from({ length: 200 }, (_, i) => i),
      ...Array.from({ length: 200 }, (_, i) => 199 - i),
      ...[0, 64, 128, 0, 64, 5_000_000, 63, 127],
    ];
    for (const k of indexes) expect(writes.factorAt(k)).toBe(lognormalFactorAt(9, k, 0.2));
  });
});
