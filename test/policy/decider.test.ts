// The predictive policy decides in place for the loop (PredictiveDecider: its state rewritten, one decision
// reused) and purely for everyone else (decide: a new state and decision each time). The two must agree
// decision for decision, reason for reason, and leave the same state, whatever they are shown.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Band, Decision, Observation } from '../../src/model/policy.js';
import { deciderOf } from '../../src/policy/decider.js';
import { PredictiveDecision } from '../../src/policy/predictive-reasons.js';
import { PredictivePolicy, type PredictiveState } from '../../src/policy/predictive.js';
import { ThresholdPolicy } from '../../src/policy/threshold.js';
import { observationFor, predictiveSpecArb } from './arbitraries.js';
import { at } from '../../src/at.js';
import { BAND, linear, observation, PAGE, saturating } from './helpers.js';

// A realistic band and a workload with steps, noise, bursts and maybe a working set; now and then an
// overrun, or an observation that makes no sense (from the hostile arbitraries).
const scenario = fc
  .record({
    minMs: fc.integer({ min: 10, max: 500 }),
    spread: fc.double({ min: 2, max: 100, noNaN: true }),
    lminPages: fc.integer({ min: 16, max: 16384 }),
    ratio: fc.double({ min: 2, max: 64, noNaN: true }),
    workingSet: fc.option(fc.double({ min: 0.3, max: 50, noNaN: true })),
    startAt: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .chain(({ minMs, spread, lminPages, ratio, workingSet, startAt }) => {
    const band: Band = {
      minMs,
      maxMs: Math.round(minMs * spread),
      lminBytes: lminPages * PAGE,
      lmaxBytes: Math.round(lminPages * PAGE * ratio),
    };
    const targetPages = Math.sqrt(band.lminBytes * band.lmaxBytes) / PAGE;
    const step = fc.record({
      // The rate's factor from the step before: mostly none, sometimes ×/÷ up to 20.
      factor: fc.oneof(fc.constant(1), fc.constant(1), fc.constant(1), fc.double({ min: 0.05, max: 20, noNaN: true })),
      noise: fc.double({ min: -0.3, max: 0.3, noNaN: true }),
      burst: fc.oneof(fc.constant(0), fc.constant(0), fc.constant(0), fc.double({ min: 0, max: 4, noNaN: true })),
      overrun: fc.oneof(fc.constant(1), fc.constant(1), fc.double({ min: 1, max: 3, noNaN: true })),
      hostile: fc.option(observationFor(band), { freq: 15 }),
    });
    return fc.record({
      band: fc.constant(band),
      // Pages per ms at which the target size takes the middle of the interval range.
      perMs: fc.constant((2 * targetPages) / (band.minMs + band.maxMs)),
      cap: fc.constant(workingSet === null ? Number.POSITIVE_INFINITY : targetPages * workingSet),
      startMs: fc.constant(Math.round(band.minMs + startAt * (band.maxMs - band.minMs))),
      steps: fc.array(step, { minLength: 1, maxLength: 80 }),
    });
  });

// Deep-freezes a state: the pure decide must never change the state it is handed.
function frozen(state: PredictiveState): PredictiveState {
  Object.freeze(state.logRates);
  if (state.pending !== null) Object.freeze(state.pending);
  return Object.freeze(state);
}

const seen = { rules: new Set<string>(), notes: new Set<string>(), fallbacks: 0 };

function noteRule(decision: Decision): void {
  if (!(decision instanceof PredictiveDecision)) return;
  seen.rules.add(decision.rule);
  const noteless = ['unusable', 'awaiting', 'unconfirmed', 'saturated'];
  if (!noteless.includes(decision.rule)) seen.notes.add(decision.note);
  if (decision.fallback !== undefined) seen.fallbacks += 1;
}

// Feeds both paths the same observations (made from the interval the pure path chose, and its step) and
// compares every decision; returns the pure path's last state.
function agree(
  policy: PredictivePolicy,
  band: Band,
  startMs: number,
  steps: number,
  observe: (intervalMs: number, i: number) => Observation,
  readNow: () => boolean = () => true,
): void {
  const decider = deciderOf(policy, policy.initialState());
  let state = frozen(policy.initialState());
  let interval = startMs;
  for (let i = 0; i < steps; i++) {
    const o = observe(interval, i);
    const pure = policy.decide(state, o, band);
    // The in-place decider gets its own copy: the loop rewrites one observation for every checkpoint.
    const kept = decider.decide({ ...o }, band);
    noteRule(kept);
    expect(kept.nextIntervalMs).toBe(pure.decision.nextIntervalMs);
    expect(kept.decision).toBe(pure.decision.decision);
    // Reasons are written when read: read some at once and the rest never, as the loop does.
    if (readNow()) expect(kept.reason).toBe(pure.decision.reason);
    // The pure path's state is branchable: deciding again from the state before gives the same.
    const again = policy.decide(state, o, band);
    expect(again.decision.reason).toBe(pure.decision.reason);
    expect(again.state).toEqual(pure.state);
    state = frozen(pure.state);
    interval = pure.decision.nextIntervalMs;
  }
  expect(decider.state()).toEqual(state);
}

describe('the predictive policy in place and pure', () => {
  it('agree decision for decision, reason for reason, and end in the same state', () => {
    fc.assert(
      fc.property(predictiveSpecArb, scenario, fc.infiniteStream(fc.boolean()), (spec, s, readNow) => {
        let rate = s.perMs;
        const observe = (interval: number, i: number): Observation => {
          const step = at(s.steps, i);
          rate *= step.factor;
          const elapsed = interval * step.overrun;
          const pages = Math.min(Math.round(rate * elapsed * Math.exp(step.noise) + step.burst * rate * 100), s.cap);
          return (
            step.hostile ?? {
              ...observation(interval, pages * PAGE, { pagesWritten: pages, elapsedMs: elapsed }),
              seq: i + 1,
            }
          );
        };
        agree(new PredictivePolicy(spec), s.band, s.startMs, s.steps.length, observe, () => readNow.next().value);
      }),
      { numRuns: 400 },
    );
    // A working set that saturates under lmax (as in predictive.test.ts).
    agree(new PredictivePolicy(), BAND, 500, 12, (interval) => {
      const pages = saturating(2000, 150)(interval);
      return observation(interval, pages * PAGE, { pagesWritten: pages });
    });
    // A rise seen in band that the next checkpoint confirms: the random scenarios above reach the note
    // 'confirmed' in only ~95 % of seeds (9 of 200 seeds never did), so it gets a case of its own.
    agree(new PredictivePolicy(), BAND, 500, 12, (interval, i) => {
      const pages = Math.round((i < 6 ? 1 : 2) * interval);
      return observation(interval, pages * PAGE, { pagesWritten: pages });
    });
    // Every rule, every kind of estimate and the safety net were exercised.
    expect([...seen.rules].sort()).toEqual([
      'aimed',
      'awaiting',
      'deadband',
      'early',
      'hedged',
      'saturated',
      'unconfirmed',
      'unusable',
    ]);
    expect([...seen.notes].sort()).toEqual(['', 'again', 'changed', 'confirmed', 'outlier', 'restarted']);
    expect(seen.fallbacks).toBeGreaterThan(0);
  });

  it('rewrites one decision: what the loop read is valid until the next call', () => {
    const policy = new PredictivePolicy();
    const decider = policy.decider(policy.initialState());
    const first = decider.decide(observation(500, 2 * 1024 * 1024, { pagesWritten: 512 }), BAND);
    const reason = first.reason;
    const second = decider.decide(
      observation(724, linear(3000)(724) * PAGE, { pagesWritten: linear(3000)(724) }),
      BAND,
    );
    expect(second).toBe(first);
    expect(second.reason).not.toBe(reason);
  });

  it('gives back the state it was made from while nothing changed it', () => {
    const policy = new PredictivePolicy();
    const state = policy.initialState();
    const decider = policy.decider(state);
    expect(decider.state()).toBe(state);
    decider.decide(observation(500, 2 * 1024 * 1024, { elapsedMs: 0 }), BAND); // not usable: no change
    expect(decider.state()).toBe(state);
    decider.decide(observation(500, 2 * 1024 * 1024, { pagesWritten: 512 }), BAND);
    expect(decider.state()).not.toBe(state);
    expect(decider.state().logRates).toHaveLength(1);
  });

  it('a policy without a decider of its own is decided through its pure decide, state carried', () => {
    const threshold = new ThresholdPolicy();
    const decider = deciderOf(threshold, undefined);
    const o = observation(400, 16 * 1024 * 1024);
    const kept = decider.decide(o, BAND);
    const pure = threshold.decide(undefined, o, BAND).decision;
    expect([kept.nextIntervalMs, kept.decision, kept.reason]).toEqual([
      pure.nextIntervalMs,
      pure.decision,
      pure.reason,
    ]);
    expect(decider.state()).toBeUndefined();
  });
});
