import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { QuantileSketch } from '../../src/loop/quantiles.js';

// The exact nearest-rank quantile (1-based rank ceil(q·n)), as the sketch approximates it.
function exact(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(q * sorted.length)) - 1]!;
}

describe('QuantileSketch', () => {
  it('is within ±0.25 % of the exact quantile, for values spread over many orders of magnitude in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 1e-6, max: 1e12, noNaN: true }), { minLength: 1, maxLength: 300 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (values, q) => {
          const sketch = new QuantileSketch();
          for (const v of values) sketch.add(v);
          const want = exact(values, q);
          expect(Math.abs(sketch.quantile(q) - want)).toBeLessThanOrEqual(want * 0.0026);
          expect(sketch.min).toBe(Math.min(...values));
          expect(sketch.max).toBe(Math.max(...values));
        },
      ),
    );
  });

  it('counts zeros and negatives as 0, and merging equals adding everything to one sketch', () => {
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    const both = new QuantileSketch();
    const values = [0, -3, 5, 5, 5, 1e9, 2e-3, 7, 0];
    values.forEach((v, i) => {
      (i % 2 === 0 ? a : b).add(v);
      both.add(v);
    });
    a.merge(b);
    for (const q of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 1]) expect(a.quantile(q)).toBe(both.quantile(q));
    expect(a.count).toBe(values.length);
    expect(a.quantile(0.2)).toBe(0);
    expect(new QuantileSketch().quantile(0.5)).toBeNaN();
  });
});
