import { describe, expect, it } from 'vitest';
import { phased } from './helpers.js';

describe('workload models', () => {
  it('a linear phase dirties rate × time', () => {
    const w = phased([[8000, 10]]);
    expect(w.pages(0, 200)).toBe(1600);
    expect(w.pages(5000, 6000)).toBe(8000);
    expect(w.workingSetPages).toBe(Number.POSITIVE_INFINITY);
  });

  it('follows its phases: busy, quiet, moderate, then cycles (the demo workload)', () => {
    const w = phased(
      [
        [8000, 10],
        [200, 10],
        [1500, 10],
      ],
      { workingSetPages: 16384 },
    );
    expect(w.pages(1000, 1200)).toBe(1600);
    expect(w.pages(11_000, 12_000)).toBe(200);
    expect(w.pages(21_000, 22_000)).toBe(1500);
    expect(w.pages(31_000, 31_200)).toBe(1600);
    expect(w.pages(9900, 10_100)).toBe(800 + 20); // straddles busy → quiet
  });

  it('saturates at the working set: the dirty set never exceeds W', () => {
    const w = phased([[8000, 10]], { workingSetPages: 1000 });
    expect(w.pages(0, 100)).toBe(800);
    expect(w.pages(0, 125)).toBe(1000);
    expect(w.pages(0, 5000)).toBe(1000);
    for (let t = 0; t < 3000; t += 37) expect(w.pages(t, t + 1000)).toBeLessThanOrEqual(1000);
  });

  it('noise is seeded: the same seed gives the same pages whatever the order of the questions', () => {
    const a = phased([[5000, 60]], { noise: 0.3, seed: 11 });
    const b = phased([[5000, 60]], { noise: 0.3, seed: 11 });
    const forward = [0, 1, 2, 3, 4].map((i) => a.pages(i * 250, (i + 1) * 250));
    const backward = [4, 3, 2, 1, 0].map((i) => b.pages(i * 250, (i + 1) * 250)).reverse();
    expect(backward).toEqual(forward);
    const c = phased([[5000, 60]], { noise: 0.3, seed: 12 });
    expect([0, 1, 2, 3, 4].map((i) => c.pages(i * 250, (i + 1) * 250))).not.toEqual(forward);
  });

  it('noise has mean 1: over a long window the rate is what the phases say', () => {
    const noisy = phased([[5000, 1000]], { noise: 0.2, seed: 5 });
    const total = noisy.pages(0, 600_000);
    expect(total / 3_000_000).toBeGreaterThan(0.97);
    expect(total / 3_000_000).toBeLessThan(1.03);
    expect(noisy.pages(0, 100)).not.toBe(500); // but single slots vary
  });

  it('bursts add writes in some slots, seeded, at roughly duration/every of the time', () => {
    const quiet = phased([[100, 1000]]);
    const bursty = phased([[100, 1000]], {
      bursts: { pagesPerSecond: 10_000, durationMs: 200, everyMs: 2000 },
      seed: 3,
    });
    const extra = bursty.pages(0, 600_000) - quiet.pages(0, 600_000);
    // Expected 10 000 pages/s × 600 s × 0.1 = 600 000 extra writes.
    expect(extra).toBeGreaterThan(500_000);
    expect(extra).toBeLessThan(700_000);
    const slots = Array.from({ length: 100 }, (_, k) => bursty.pages(k * 200, (k + 1) * 200));
    expect(new Set(slots)).toEqual(new Set([20, 2020]));
  });

  it('rejects parameters out of range', () => {
    expect(() => phased([[1, 1]], { workingSetPages: 0 })).toThrow(/working set/);
    expect(() => phased([[1, 1]], { noise: -0.1 })).toThrow(/noise/);
    expect(() => phased([[1, 1]], { seed: 1.5 })).toThrow(/seed/);
    expect(() => phased([[1, 1]], { bursts: { pagesPerSecond: 1, durationMs: 500, everyMs: 100 } })).toThrow(
      /at least their duration/,
    );
  });
});
