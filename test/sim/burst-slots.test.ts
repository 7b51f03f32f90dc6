import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BurstSlots } from '../../src/sim/burst-slots.js';
import { uniformAt } from '../../src/sim/random.js';

const SPEC = { pagesPerSecond: 4000, durationMs: 200, everyMs: 10_000 };

describe('BurstSlots', () => {
  it('sums a window slot by slot, each burst slot adding its rate over the part of it inside the window', () => {
    const seed = 7;
    const bursts = new BurstSlots(SPEC, seed);
    const first = Array.from({ length: 5000 }, (_, k) => k).find((k) => uniformAt(seed, k) < 0.02);
    if (first === undefined) throw new Error('no burst slot in 5000: the draws changed');
    const start = first * 200;
    // The whole slot, half of it, and a window around it (its neighbours are not bursts, or add their own).
    expect(bursts.between(start, start + 200)).toBe(4 * 200);
    expect(bursts.between(start + 50, start + 150)).toBe(4 * 100);
    expect(bursts.between(start - 1000, start + 1000)).toBeGreaterThanOrEqual(4 * 200);
  });

  it('answers nextEdge from its memo as a fresh instance would, whatever the order of the questions', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.array(fc.double({ min: -1000, max: 600_000, noNaN: true }), { minLength: 1, maxLength: 40 }),
        fc.boolean(),
        (seed, times, ascending) => {
          const asked = ascending ? [...times].sort((a, b) => a - b) : times;
          const kept = new BurstSlots(SPEC, seed);
          for (const t of asked) expect(kept.nextEdge(t)).toBe(new BurstSlots(SPEC, seed).nextEdge(t));
        },
      ),
    );
  });

  it("finds a burst's start, then its end; asked again from just before the start, the start", () => {
    const bursts = new BurstSlots(SPEC, 3);
    const start = bursts.nextEdge(0);
    if (start === undefined) throw new Error('no burst in 64 mean gaps');
    const end = bursts.nextEdge(start);
    expect(end).toBeGreaterThan(start);
    expect(bursts.between(start, start + 200)).toBe(800);
    // Asked from just before the start, the memo (from 0) answers the start again; from the start on, not.
    expect(bursts.nextEdge(start - 1)).toBe(start);
    expect(bursts.nextEdge(start)).toBe(end);
  });
});
