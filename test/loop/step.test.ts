import { describe, expect, it } from 'vitest';
import { step } from '../../src/loop/step.js';
import type { Band, Observation, Policy } from '../../src/model/policy.js';

// A policy that always proposes the same interval: the step's scheduling is what is under test here.
const constant = (nextIntervalMs: number): Policy<number> => ({
  kind: 'constant',
  initialState: () => 0,
  decide: (calls) => ({ decision: { nextIntervalMs, decision: 'hold', reason: 'constant' }, state: calls + 1 }),
});
const band: Band = { lminBytes: 1, lmaxBytes: 2, minMs: 10, maxMs: 1000 };
const observation: Observation = {
  seq: 1,
  intervalMs: 100,
  elapsedMs: 100,
  sizeBytes: 1,
  pagesWritten: 1,
  frozenUs: 1,
  pageSize: 4096,
};

describe('step', () => {
  it('schedules start-to-start: next start = this start + next interval', () => {
    const result = step(
      constant(200),
      { intervalMs: 100, policyState: 0 },
      { observation, unmeasured: undefined, startedAtMs: 1000, finishedAtMs: 1030 },
      band,
    );
    expect(result.nextStartAtMs).toBe(1200);
    expect(result.overrun).toBe(false);
    expect(result.state).toEqual({ intervalMs: 200, policyState: 1 });
  });

  it('a checkpoint longer than the interval in force is an overrun and the next one starts at once', () => {
    const result = step(
      constant(50),
      { intervalMs: 100, policyState: 0 },
      { observation, unmeasured: undefined, startedAtMs: 1000, finishedAtMs: 1150 },
      band,
    );
    expect(result.overrun).toBe(true);
    expect(result.nextStartAtMs).toBe(1150);
  });

  it('taking exactly the interval is not an overrun', () => {
    const result = step(
      constant(100),
      { intervalMs: 100, policyState: 0 },
      { observation, unmeasured: undefined, startedAtMs: 0, finishedAtMs: 100 },
      band,
    );
    expect(result.overrun).toBe(false);
    expect(result.nextStartAtMs).toBe(100);
  });

  it('a chain-start checkpoint (no dirty set measured) holds the interval without asking the policy', () => {
    const result = step(
      constant(50),
      { intervalMs: 300, policyState: 7 },
      {
        observation,
        unmeasured: 'chain start: a full checkpoint (1 pages) measures no dirty set',
        startedAtMs: 0,
        finishedAtMs: 40,
      },
      band,
    );
    expect(result.decision).toMatchObject({ nextIntervalMs: 300, decision: 'hold' });
    expect(result.decision.reason).toContain('chain start');
    expect(result.state).toEqual({ intervalMs: 300, policyState: 7 }); // the policy's state is untouched
    expect(result.nextStartAtMs).toBe(300);
  });

  it('an unmeasured checkpoint still brings the interval into the band (after a reload moved it)', () => {
    const result = step(
      constant(50),
      { intervalMs: 3000, policyState: 7 },
      { observation, unmeasured: 'first checkpoint of this run', startedAtMs: 0, finishedAtMs: 40 },
      band,
    );
    expect(result.decision).toMatchObject({ nextIntervalMs: 1000, decision: 'shrink' });
    expect(result.decision.reason).toContain('was above max');
    expect(result.state).toEqual({ intervalMs: 1000, policyState: 7 });
    expect(result.nextStartAtMs).toBe(1000);
  });
});
