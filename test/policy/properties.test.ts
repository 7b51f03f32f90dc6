// Properties every policy must keep, for any observation and any band the config can produce.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Band, Observation, Policy } from '../../src/model/policy.js';
import { createPolicy, type PolicySpec } from '../../src/policy/index.js';
import { ThresholdPolicy } from '../../src/policy/threshold.js';
import { PredictivePolicy } from '../../src/policy/predictive.js';
import { bandArb, observationFor, predictiveSpecArb } from './arbitraries.js';

const specArb: fc.Arbitrary<PolicySpec> = fc.oneof(
  fc.constant({ kind: 'fixed' as const }),
  fc.record({
    kind: fc.constant('threshold' as const),
    shrink: fc.double({ min: 0.01, max: 0.99, noNaN: true }),
    grow: fc.double({ min: 1.01, max: 10, noNaN: true }),
  }),
  predictiveSpecArb,
);

// A band with a sequence of observations in it.
const scenario = bandArb.chain((band) =>
  fc.record({ band: fc.constant(band), observations: fc.array(observationFor(band), { minLength: 1, maxLength: 20 }) }),
);

function feed(policy: Policy, band: Band, observations: Observation[], check: (o: Observation, next: number) => void) {
  let state = policy.initialState();
  for (const o of observations) {
    const out = policy.decide(state, o, band);
    state = out.state;
    check(o, out.decision.nextIntervalMs);
    const from = Number.isNaN(o.intervalMs) ? out.decision.nextIntervalMs : o.intervalMs;
    const direction =
      out.decision.nextIntervalMs < from ? 'shrink' : out.decision.nextIntervalMs > from ? 'grow' : 'hold';
    if (!Number.isNaN(o.intervalMs)) expect(out.decision.decision).toBe(direction);
    expect(out.decision.reason.length).toBeGreaterThan(0);
  }
}

describe('every policy', () => {
  it('returns a finite next interval within [min, max], whatever it observes', () => {
    fc.assert(
      fc.property(specArb, scenario, (spec, { band, observations }) => {
        feed(createPolicy(spec), band, observations, (_o, next) => {
          expect(Number.isFinite(next)).toBe(true);
          expect(next).toBeGreaterThanOrEqual(band.minMs);
          expect(next).toBeLessThanOrEqual(band.maxMs);
        });
      }),
      { numRuns: 500 },
    );
  });
});

// "Never grows when size > lmax" is about the interval in force; one outside a (reloaded) band is first
// brought into it, so the bound is the interval in force clamped into the band.
const inForce = (o: Observation, band: Band) => Math.min(Math.max(o.intervalMs, band.minMs), band.maxMs);

function neverAgainstTheSize(policy: Policy, band: Band, observations: Observation[]) {
  feed(policy, band, observations, (o, next) => {
    if (Number.isNaN(o.intervalMs) || !Number.isFinite(o.sizeBytes)) return;
    if (o.sizeBytes > band.lmaxBytes) expect(next).toBeLessThanOrEqual(inForce(o, band));
    if (o.sizeBytes < band.lminBytes && o.sizeBytes >= 0) expect(next).toBeGreaterThanOrEqual(inForce(o, band));
  });
}

describe('threshold', () => {
  it('never grows when size > lmax and never shrinks when size < lmin', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.01, max: 0.99, noNaN: true }),
        fc.double({ min: 1.01, max: 10, noNaN: true }),
        scenario,
        (shrink, grow, { band, observations }) =>
          neverAgainstTheSize(new ThresholdPolicy({ shrink, grow }), band, observations),
      ),
      { numRuns: 500 },
    );
  });

  it('moves the way the size says when the interval is inside the band and not at a clamp', () => {
    fc.assert(
      fc.property(scenario, ({ band, observations }) => {
        const policy = new ThresholdPolicy();
        for (const o of observations) {
          if (!(o.intervalMs > band.minMs && o.intervalMs < band.maxMs) || !Number.isFinite(o.sizeBytes)) continue;
          const { decision } = policy.decide(undefined, o, band);
          if (o.sizeBytes > band.lmaxBytes) expect(decision.decision).toBe('shrink');
          else if (o.sizeBytes === 0 || (o.sizeBytes >= 0 && o.sizeBytes < band.lminBytes))
            expect(decision.decision).toBe('grow');
          else expect(decision.decision).toBe('hold');
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('predictive', () => {
  it('never grows when size > lmax and never shrinks when size < lmin either', () => {
    fc.assert(
      fc.property(scenario, ({ band, observations }) =>
        neverAgainstTheSize(new PredictivePolicy(), band, observations),
      ),
      { numRuns: 500 },
    );
  });
});

describe('predictive on synthetic workloads', () => {
  // Realistic bands, and linear or saturating workloads whose target interval lies within [min, max].
  const workloadScenario = fc
    .record({
      minMs: fc.integer({ min: 10, max: 500 }),
      spread: fc.double({ min: 2, max: 100, noNaN: true }),
      lminBytes: fc.integer({ min: 16, max: 16384 }).map((pages) => pages * 4096),
      ratio: fc.double({ min: 2, max: 64, noNaN: true }),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      start: fc.double({ min: 0, max: 1, noNaN: true }),
      workingSet: fc.option(fc.double({ min: 1.5, max: 50, noNaN: true })),
    })
    .map(({ minMs, spread, lminBytes, ratio, at, start, workingSet }) => {
      const band: Band = {
        minMs,
        maxMs: Math.round(minMs * spread),
        lminBytes,
        lmaxBytes: Math.round(lminBytes * ratio),
      };
      const targetPages = Math.sqrt(band.lminBytes * band.lmaxBytes) / 4096;
      const targetMs = band.minMs + at * (band.maxMs - band.minMs);
      const perMs = targetPages / targetMs;
      // A working set, when there is one, well above the target so that the target stays reachable.
      const cap = workingSet === null ? Number.POSITIVE_INFINITY : targetPages * workingSet;
      return {
        band,
        pagesAt: (t: number) => Math.round(Math.min(perMs * t, cap)),
        startMs: Math.round(band.minMs + start * (band.maxMs - band.minMs)),
      };
    });

  it('ends inside the band and stays there', () => {
    fc.assert(
      fc.property(workloadScenario, ({ band, pagesAt, startMs }) => {
        const policy = new PredictivePolicy();
        let state = policy.initialState();
        let interval = startMs;
        const sizes: number[] = [];
        for (let i = 0; i < 20; i++) {
          const pages = pagesAt(interval);
          const o: Observation = {
            seq: i + 1,
            intervalMs: interval,
            elapsedMs: interval,
            pagesWritten: pages,
            sizeBytes: pages * 4096,
            frozenUs: 0,
            pageSize: 4096,
          };
          const out = policy.decide(state, o, band);
          state = out.state;
          interval = out.decision.nextIntervalMs;
          sizes.push(pagesAt(interval) * 4096);
        }
        for (const size of sizes.slice(-5)) {
          expect(size).toBeGreaterThanOrEqual(band.lminBytes);
          expect(size).toBeLessThanOrEqual(band.lmaxBytes);
        }
      }),
      { numRuns: 500 },
    );
  });
});
