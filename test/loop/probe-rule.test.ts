// The probe's rule two ways: read at every instant (what supervise() does) and computed from the times a
// reading that never falls first reaches the levels (what the simulator does). They must end every wait at
// the same instant for the same reason.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  firstTrigger,
  nextInstant,
  probeAimBytes,
  probeFloorBytes,
  probePeriodMs,
  triggerAt,
  type ProbePlan,
  type ProbeStart,
  type ProbeTrigger,
} from '../../src/loop/probe-rule.js';

// The wait as supervise() runs it, on a clock that wakes exactly at each instant.
function byInstants(plan: ProbePlan, reading: (t: number) => number): ProbeStart {
  for (let at = plan.beganMs, n = 0; n < 100_000; n++) {
    at = nextInstant(plan, at);
    const trigger = triggerAt(plan, at, reading(at));
    if (trigger !== undefined) return { atMs: at, trigger };
  }
  throw new Error('the wait never ended');
}

const planArb = fc
  .record({
    fromMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
    began: fc.double({ min: 0, max: 500, noNaN: true }),
    periodMs: fc.double({ min: 1, max: 200, noNaN: true }),
    interval: fc.double({ min: 1, max: 4000, noNaN: true }),
    extra: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 8000, noNaN: true })),
    floorShare: fc.double({ min: 0.1, max: 0.99, noNaN: true }), // lmin < the aim
  })
  .filter(({ began, interval }) => began < interval)
  .map(({ fromMs, began, periodMs, interval, extra, floorShare }): ProbePlan => ({
    fromMs,
    beganMs: fromMs + began,
    periodMs,
    deadlineMs: fromMs + interval,
    latestMs: fromMs + interval + extra,
    aimReading: 1000,
    floorReading: 1000 * floorShare,
  }));

describe('the probe rule', () => {
  it('ends a wait where reading at every instant would, for any reading that never falls', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.double({ min: 0, max: 20_000, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (plan, aimAfter, floorShare) => {
          // A reading that jumps to the floor, then to the aim (either may be never: past the latest).
          const aimAt = plan.fromMs + aimAfter;
          const floorAt = plan.fromMs + aimAfter * floorShare;
          const reading = (t: number) => (t >= aimAt ? 1000 : t >= floorAt ? plan.floorReading : 0);
          const computed = firstTrigger(
            plan,
            aimAt <= plan.latestMs ? aimAt : Number.POSITIVE_INFINITY,
            floorAt <= plan.latestMs ? floorAt : Number.POSITIVE_INFINITY,
            { atMs: 0, trigger: 'aim' },
          );
          expect(computed).toEqual(byInstants(plan, reading));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('ends a deferred wait 10 % above lmin (never above the aim): at lmin itself real estimates ran 4-9 % high', () => {
    const settings = { minPeriodMs: 25, maxPeriodMs: 100, defer: true, target: 'geometric' as const };
    const band = { lminBytes: 2 ** 20, lmaxBytes: 4 * 2 ** 20, minMs: 200, maxMs: 8000 };
    // The real starts at the floor whose size fell under lmin had estimates up to 1.09× that size.
    expect(probeFloorBytes(band, settings) / 1.09).toBeGreaterThanOrEqual(band.lminBytes);
    expect(probeFloorBytes(band, settings)).toBeLessThan(probeAimBytes(band, settings));
    // A band too narrow for the margin: the floor is the aim.
    const narrow = { ...band, lmaxBytes: 1.1 * 2 ** 20 };
    expect(probeFloorBytes(narrow, settings)).toBe(probeAimBytes(narrow, settings));
  });

  it('starts at the aim before the deadline, at the floor past it only when deferring, and never after the latest', () => {
    const plan: ProbePlan = {
      fromMs: 0,
      beganMs: 50,
      periodMs: 100,
      deadlineMs: 1000,
      latestMs: 3000,
      aimReading: 2000,
      floorReading: 1000,
    };
    const at = (t: number, r: number): ProbeTrigger | undefined => triggerAt(plan, t, r);
    expect(at(100, 1999)).toBeUndefined();
    expect(at(100, 2000)).toBe('aim');
    expect(at(999, 1500)).toBeUndefined(); // in band, but before the deadline: the policy's interval holds
    expect(at(1000, 1500)).toBe('floor');
    expect(at(1000, 999)).toBeUndefined(); // deferred: under lmin at the deadline
    expect(at(3000, 0)).toBe('max');
    expect(triggerAt({ ...plan, latestMs: 1000 }, 1000, 0)).toBe('deadline');
    // The instants: ticks 100 ms apart from the previous start, the deadline, the latest.
    expect(nextInstant(plan, 50)).toBe(100);
    expect(nextInstant(plan, 100)).toBe(200);
    expect(nextInstant({ ...plan, deadlineMs: 950 }, 900)).toBe(950);
    expect(nextInstant(plan, 2950)).toBe(3000);
  });

  it('reads every interval/8, within its bounds', () => {
    const settings = { minPeriodMs: 25, maxPeriodMs: 100, defer: true, target: 'geometric' as const };
    expect(probePeriodMs(100, settings)).toBe(25);
    expect(probePeriodMs(400, settings)).toBe(50);
    expect(probePeriodMs(8000, settings)).toBe(100);
  });
});
