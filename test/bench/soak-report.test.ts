import { describe, expect, it } from 'vitest';
import { trend } from '../../src/bench/soak-report.js';

// The soak's slopes: warm-up growth in the first window is not a leak; steady growth after it is, whatever
// the noise around it.
describe('trend', () => {
  const noise = (i: number) => ((i * 7919) % 13) / 13 - 0.5; // deterministic, within ±0.5

  it('a quantity that grows only while warming up has a slope near 0 after the first window', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({
      checkpoints: i * 50,
      value: (i < 10 ? 80 + i : 90) + noise(i),
    }));
    const t = trend(points);
    expect(t?.first).toBeLessThan(90);
    expect(Math.abs(t?.perThousand ?? Infinity)).toBeLessThan(0.2);
  });

  it('a leak of 1 fd per 100 checkpoints is 10 per 1000, noise or not', () => {
    const points = Array.from({ length: 100 }, (_, i) => ({ checkpoints: i * 50, value: 20 + i / 2 + noise(i) }));
    expect(trend(points)?.perThousand).toBeCloseTo(10, 0);
  });

  it('too few samples: no trend', () => {
    expect(trend([{ checkpoints: 1, value: 1 }])).toBeUndefined();
  });
});
