// fast-check arbitraries shared by the policy property tests: bands and observations, hostile ones included.

import fc from 'fast-check';
import type { Band, Observation } from '../../src/model/policy.js';
import type { PredictiveOptions } from '../../src/policy/predictive.js';

/** Any band the config can produce, and some it cannot (a zero span, lmin 0). */
export const bandArb: fc.Arbitrary<Band> = fc
  .record({
    minMs: fc.double({ min: 0.5, max: 1e6, noNaN: true }),
    spanMs: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1e6, noNaN: true })),
    lminBytes: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 })),
    spanBytes: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 40 })),
  })
  .map(({ minMs, spanMs, lminBytes, spanBytes }) => ({
    minMs,
    maxMs: minMs + spanMs,
    lminBytes,
    lmaxBytes: lminBytes + spanBytes,
  }));

/** Numbers a broken observation may carry. */
export const anyNumber = fc.oneof(
  fc.double({ min: -10, max: 1e9, noNaN: true }),
  fc.integer({ min: 0, max: 2 ** 50 }),
  fc.constantFrom(0, -1, Number.NaN, Number.POSITIVE_INFINITY),
);

// Sizes favour the band edges and one byte either side of them.
export const observationFor = (band: Band): fc.Arbitrary<Observation> =>
  fc.record({
    seq: fc.nat(),
    intervalMs: fc.oneof(fc.double({ min: band.minMs, max: band.maxMs, noNaN: true }), anyNumber),
    elapsedMs: fc.oneof(fc.double({ min: 0, max: 2e6, noNaN: true }), anyNumber),
    sizeBytes: fc.oneof(
      fc.constantFrom(
        band.lminBytes - 1,
        band.lminBytes,
        band.lminBytes + 1,
        band.lmaxBytes - 1,
        band.lmaxBytes,
        band.lmaxBytes + 1,
        0,
      ),
      fc.integer({ min: 0, max: 2 ** 45 }),
      anyNumber,
    ),
    pagesWritten: fc.oneof(fc.integer({ min: 0, max: 2 ** 30 }), anyNumber),
    frozenUs: fc.nat(),
    pageSize: fc.constantFrom(4096, 16384, 65536, 0, Number.NaN),
  });

/** The predictive policy with any options it accepts. */
export const predictiveSpecArb = fc.record({
  kind: fc.constant('predictive' as const),
  window: fc.integer({ min: 1, max: 64 }),
  change: fc.double({ min: 1.01, max: 10, noNaN: true }),
  deadband: fc.double({ min: 1, max: 10, noNaN: true }),
  target: fc.constantFrom('geometric' as const, 'arithmetic' as const),
}) satisfies fc.Arbitrary<{ kind: 'predictive' } & PredictiveOptions>;
