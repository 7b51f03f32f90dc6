// Properties of the simulator for any band, policy, workload and cost the inputs allow.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Band } from '../../src/model/policy.js';
import type { PolicySpec } from '../../src/policy/index.js';
import type { CostModel } from '../../src/sim/cost.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { simulate } from '../../src/sim/simulate.js';
import { PAGE, phased } from './helpers.js';

const bandArb: fc.Arbitrary<Band> = fc
  .record({
    minMs: fc.integer({ min: 20, max: 2000 }),
    spanMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 10_000 })),
    lminBytes: fc.integer({ min: 0, max: 64 * 2 ** 20 }),
    spanBytes: fc.integer({ min: 0, max: 64 * 2 ** 20 }),
  })
  .map(({ minMs, spanMs, lminBytes, spanBytes }) => ({
    minMs,
    maxMs: minMs + spanMs,
    lminBytes,
    lmaxBytes: lminBytes + spanBytes,
  }));

const specArb: fc.Arbitrary<PolicySpec> = fc.oneof(
  fc.constant({ kind: 'fixed' as const }),
  fc.record({
    kind: fc.constant('threshold' as const),
    shrink: fc.double({ min: 0.05, max: 0.95, noNaN: true }),
    grow: fc.double({ min: 1.05, max: 10, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('predictive' as const),
    window: fc.integer({ min: 1, max: 16 }),
    change: fc.double({ min: 1.05, max: 10, noNaN: true }),
    deadband: fc.double({ min: 1, max: 10, noNaN: true }),
    target: fc.constantFrom('geometric' as const, 'arithmetic' as const),
  }),
);

const workloadArb = fc.record({
  phases: fc.array(
    fc.tuple(
      fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 100_000 })),
      fc.double({ min: 0.1, max: 10, noNaN: true }),
    ),
    { minLength: 1, maxLength: 4 },
  ),
  workingSetPages: fc.option(fc.integer({ min: 1, max: 100_000 }), { nil: undefined }),
  noise: fc.constantFrom(0, 0.1, 0.5, 1.5),
  seed: fc.integer(),
  bursts: fc.option(
    fc.record({
      pagesPerSecond: fc.integer({ min: 0, max: 100_000 }),
      durationMs: fc.integer({ min: 10, max: 1000 }),
      everyMs: fc.integer({ min: 1000, max: 10_000 }),
    }),
    { nil: undefined },
  ),
});

const linearArb = (maxBaseMs: number) =>
  fc.record({
    baseMs: fc.double({ min: 0, max: maxBaseMs, noNaN: true }),
    perScannedPageUs: fc.double({ min: 0, max: 5, noNaN: true }),
    perWrittenPageUs: fc.double({ min: 0, max: 5, noNaN: true }),
  });
const costArb: fc.Arbitrary<CostModel> = fc.record({
  mode: fc.constantFrom('delta' as const, 'full' as const, 'dump' as const, 'pre-dump' as const),
  frozen: linearArb(50),
  criuWall: linearArb(500),
  rewrite: linearArb(100),
});

describe('simulate, for any input', () => {
  it('keeps every interval within [min, max], schedules start to start and stays in the run', async () => {
    await fc.assert(
      fc.asyncProperty(
        bandArb,
        specArb,
        workloadArb,
        costArb,
        fc.double({ min: 0, max: 1, noNaN: true }),
        async (band, policy, w, cost, at) => {
          const initialIntervalMs = band.minMs + at * (band.maxMs - band.minMs);
          const durationMs = 10_000;
          const workload = phased(w.phases, {
            workingSetPages: w.workingSetPages,
            noise: w.noise,
            seed: w.seed,
            bursts: w.bursts,
          });
          const records = await simulate({
            policy,
            band,
            initialIntervalMs,
            workload,
            cost,
            durationMs,
            pageSize: PAGE,
          });
          let previousAt = -1;
          for (const r of records) {
            const atMs = Date.parse(r.start);
            for (const interval of [r.interval_ms, r.next_interval_ms]) {
              expect(interval).toBeGreaterThanOrEqual(band.minMs - 1e-3);
              expect(interval).toBeLessThanOrEqual(band.maxMs + 1e-3);
            }
            expect(atMs).toBeGreaterThan(previousAt);
            expect(atMs).toBeLessThan(durationMs);
            // Never earlier than the interval in force; later only by an overrun of the previous checkpoint.
            if (r.elapsed_ms !== null) expect(r.elapsed_ms).toBeGreaterThanOrEqual(r.interval_ms - 1e-3);
            // A chain start writes the whole memory (the working set here), a measured checkpoint its dirty set.
            expect(r.pages_written).toBeLessThanOrEqual(w.workingSetPages ?? Number.POSITIVE_INFINITY);
            expect(r.size_bytes).toBe(r.pages_written * PAGE);
            previousAt = atMs;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('repeats exactly for the same input', async () => {
    await fc.assert(
      fc.asyncProperty(bandArb, specArb, workloadArb, async (band, policy, w) => {
        const run = () =>
          simulate({
            policy,
            band,
            initialIntervalMs: band.minMs,
            workload: phased(w.phases, { noise: w.noise, seed: w.seed, bursts: w.bursts }),
            cost: DEFAULT_COST,
            durationMs: 5000,
            pageSize: PAGE,
          });
        expect(await run()).toEqual(await run());
      }),
      { numRuns: 100 },
    );
  });
});
