import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bucketOf,
  bucketRange,
  HOLD_BUCKETS,
  mergeInto,
  parseHistogram,
  quantileMs,
} from '../../src/gate/histogram.js';

describe('hold-time histogram', () => {
  it('every hold falls inside the range of its bucket, and buckets are within 1/16 of their value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 36 }), (us) => {
        const { low, high } = bucketRange(bucketOf(us));
        expect(us).toBeGreaterThanOrEqual(low);
        expect(us).toBeLessThan(high);
        expect(high - low).toBeLessThanOrEqual(Math.max(1, low / 16));
      }),
    );
    expect(bucketOf(2 ** 50)).toBe(HOLD_BUCKETS - 1);
  });

  it('reads the helper text and gives quantiles in milliseconds', () => {
    // 90 holds of ~10 ms, 10 of ~300 ms.
    const histogram = parseHistogram(`${bucketOf(10_000)}:90,${bucketOf(300_000)}:10`);
    expect(quantileMs(histogram, 0.5)).toBeCloseTo(10, -0.5);
    expect(quantileMs(histogram, 0.99)).toBeCloseTo(300, -1.5);
    mergeInto(histogram, parseHistogram(`${bucketOf(300_000)}:200`));
    expect(quantileMs(histogram, 0.5)).toBeCloseTo(300, -1.5);
    expect(quantileMs(parseHistogram('-'), 0.5)).toBeUndefined();
  });

  it('refuses garbage from the helper', () => {
    for (const bad of ['', '1:', 'x:1', '1:2,', '9999:1', '1:2;3:4'])
      expect(() => parseHistogram(bad)).toThrow(/bad histogram entry/);
  });
});
