import { describe, expect, it } from 'vitest';
import { FixedPolicy } from '../../src/policy/fixed.js';
import { BAND, MiB, observation } from './helpers.js';

describe('FixedPolicy', () => {
  const policy = new FixedPolicy();

  it('holds whatever the size', () => {
    for (const size of [0, 0.5 * MiB, 4 * MiB, 24 * MiB, 1024 * MiB]) {
      // toJSON: a decision writes its reason when read (src/policy/bounds.ts), so it is no plain object.
      expect(JSON.parse(JSON.stringify(policy.decide(undefined, observation(200, size), BAND).decision))).toEqual({
        nextIntervalMs: 200,
        decision: 'hold',
        reason: 'fixed interval: hold at 200 ms',
      });
    }
  });

  it('keeps an interval exactly, fractions included', () => {
    expect(policy.decide(undefined, observation(200.5, 0), BAND).decision.nextIntervalMs).toBe(200.5);
  });

  it('brings an interval outside a reloaded band into it', () => {
    const { decision } = policy.decide(undefined, observation(20, 0), BAND);
    expect(decision).toMatchObject({ nextIntervalMs: 100, decision: 'grow' });
    expect(decision.reason).toBe('fixed interval: hold at 100 ms (interval in force 20 ms was below min 100 ms)');
  });
});
