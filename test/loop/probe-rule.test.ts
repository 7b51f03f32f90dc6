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
  readingFor,
  readingScale,
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

// A constant rate since the reset: when the reading (rate × time since the reset) first reaches `bytes`.
function constantReach(plan: ProbePlan, rate: number, bytes: number, untilMs: number): number {
  const at = plan.seenFromMs + Math.max(bytes, 0) / rate;
  return at <= untilMs ? at : Number.POSITIVE_INFINITY;
}

const planArb = fc
  .record({
    fromMs: fc.double({ min: 0, max: 1e7, noNaN: true }),
    began: fc.double({ min: 0, max: 500, noNaN: true }),
    resetShare: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })), // of [from, began]
    periodMs: fc.double({ min: 1, max: 200, noNaN: true }),
    interval: fc.double({ min: 1, max: 4000, noNaN: true }),
    extra: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 8000, noNaN: true })),
    floorShare: fc.double({ min: 0.1, max: 0.99, noNaN: true }), // lmin < the aim
  })
  .filter(({ began, interval }) => began < interval)
  .map(({ fromMs, began, resetShare, periodMs, interval, extra, floorShare }): ProbePlan => ({
    fromMs,
    seenFromMs: fromMs + began * resetShare,
    beganMs: fromMs + began,
    periodMs,
    deadlineMs: fromMs + interval,
    latestMs: fromMs + interval + extra,
    aimLevel: 1000,
    floorLevel: 1000 * floorShare,
  }));

// A reading that never falls: it jumps at the given times (after the reset) to the given totals.
function stepReading(plan: ProbePlan, jumps: [number, number][]) {
  let total = 0;
  const steps = [...jumps]
    .sort((a, b) => a[0] - b[0])
    .map(([after, add]) => [plan.seenFromMs + after, (total += add)] as const);
  return {
    at: (t: number) => steps.reduce((r, [when, value]) => (t >= when ? value : r), 0),
    reachesAt: (bytes: number, untilMs: number) => {
      if (bytes <= 0) return plan.seenFromMs;
      const hit = steps.find(([when, value]) => value >= bytes && when <= untilMs);
      return hit === undefined ? Number.POSITIVE_INFINITY : hit[0];
    },
  };
}

describe('the probe rule', () => {
  it('ends a wait where reading at every instant would, for any reading that never falls', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.array(
          fc.tuple(fc.double({ min: 0, max: 20_000, noNaN: true }), fc.double({ min: 0, max: 800, noNaN: true })),
          {
            maxLength: 8,
          },
        ),
        (plan, jumps) => {
          const reading = stepReading(plan, jumps);
          const computed = firstTrigger(plan, reading, { atMs: 0, trigger: 'aim' });
          expect(computed).toEqual(byInstants(plan, reading.at));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('scales a reading to the whole window at its own instant: at a constant rate, reading × scale = the window', () => {
    fc.assert(
      fc.property(
        planArb,
        fc.double({ min: 1, max: 10_000, noNaN: true }), // readings come after the wait began
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (plan, after, rate) => {
          const atMs = plan.beganMs + after;
          const reading = rate * (atMs - plan.seenFromMs); // the writes since the reset
          const window = rate * (atMs - plan.fromMs); // what the checkpoint starting now holds
          expect(Math.abs((reading * readingScale(plan, atMs)) / window - 1)).toBeLessThan(1e-9);
          expect(Math.abs(readingFor(plan, window, atMs) / reading - 1)).toBeLessThan(1e-9);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('at a constant rate a wait ends once the window holds the aim, wherever the reset and the deadline are', () => {
    // The checkpoint then holds the aim plus at most one period of writes. The control: the scale taken at
    // the deadline (the rule before), which undercounts the window when the reading comes well before it.
    const window = (plan: ProbePlan, rate: number, atMs: number) => rate * (atMs - plan.fromMs);
    const check = (plan: ProbePlan, rate: number, atDeadline: boolean) => {
      const scaled: ProbePlan = atDeadline
        ? { ...plan, aimLevel: readingFor(plan, plan.aimLevel, plan.deadlineMs), seenFromMs: plan.fromMs }
        : plan;
      const start = firstTrigger(
        scaled,
        { reachesAt: (b, until) => constantReach(plan, rate, b, until) },
        {
          atMs: 0,
          trigger: 'aim',
        },
      );
      if (start.trigger !== 'aim') return true; // the aim was not reached by the latest instant
      const held = window(plan, rate, start.atMs);
      const first = nextInstant(plan, plan.beganMs);
      return (
        held >= plan.aimLevel * (1 - 1e-9) &&
        (start.atMs === first || held <= plan.aimLevel + rate * plan.periodMs * (1 + 1e-9))
      );
    };
    const argsArb = fc.tuple(
      planArb.map((p) => ({ ...p, latestMs: Math.max(p.latestMs, p.fromMs + 8000) })),
      fc.double({ min: 0.05, max: 20, noNaN: true }),
    );
    fc.assert(
      fc.property(argsArb, ([plan, rate]) => check(plan, rate, false)),
      { numRuns: 1000 },
    );
    // The control fails: a reset 700 ms into a window of 1.7 s at the aim, with an 8 s deadline.
    const plan: ProbePlan = {
      fromMs: 0,
      seenFromMs: 700,
      beganMs: 800,
      periodMs: 100,
      deadlineMs: 8000,
      latestMs: 8000,
      aimLevel: 1700,
      floorLevel: 1000,
    };
    expect(check(plan, 1, false)).toBe(true);
    expect(check(plan, 1, true)).toBe(false);
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
      seenFromMs: 0, // the readings saw the whole window: no scale
      beganMs: 50,
      periodMs: 100,
      deadlineMs: 1000,
      latestMs: 3000,
      aimLevel: 2000,
      floorLevel: 1000,
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
