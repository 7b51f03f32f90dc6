import { describe, expect, it } from 'vitest';
import {
  createPolicy,
  FixedPolicy,
  POLICY_DEFAULTS,
  POLICY_KINDS,
  POLICY_OPTIONS,
  PredictivePolicy,
  resolvePolicySpec,
  ThresholdPolicy,
  type PolicySpec,
} from '../../src/policy/index.js';

describe('createPolicy', () => {
  it('knows the three kinds', () => {
    expect(POLICY_KINDS).toEqual(['fixed', 'threshold', 'predictive']);
    expect(Object.keys(POLICY_OPTIONS)).toEqual([...POLICY_KINDS]);
  });

  it('builds each kind with its options', () => {
    expect(createPolicy({ kind: 'fixed' })).toBeInstanceOf(FixedPolicy);
    const threshold = createPolicy({ kind: 'threshold', shrink: 0.25 });
    expect(threshold).toBeInstanceOf(ThresholdPolicy);
    expect(threshold).toMatchObject({ kind: 'threshold', shrink: 0.25, grow: POLICY_DEFAULTS.grow });
    const predictive = createPolicy({ kind: 'predictive', window: 16, target: 'arithmetic' });
    expect(predictive).toBeInstanceOf(PredictivePolicy);
    expect(predictive).toMatchObject({
      kind: 'predictive',
      window: 16,
      target: 'arithmetic',
      deadband: POLICY_DEFAULTS.deadband,
    });
  });

  it('throws a clear error for options out of range and for an unknown kind', () => {
    expect(() => createPolicy({ kind: 'threshold', grow: 0.9 })).toThrow('threshold policy: grow 0.9 is not allowed');
    expect(() => createPolicy({ kind: 'adaptive' } as unknown as PolicySpec)).toThrow(
      'unknown policy kind "adaptive"; use one of fixed, threshold, predictive',
    );
  });

  it('resolves a spec to one with every option, from the defaults', () => {
    expect(resolvePolicySpec({ kind: 'threshold' })).toEqual({ kind: 'threshold', shrink: 0.5, grow: 1.5 });
    expect(resolvePolicySpec({ kind: 'predictive', change: 2 })).toEqual({
      kind: 'predictive',
      window: 8,
      change: 2,
      deadband: 1.7,
      target: 'geometric',
    });
    expect(resolvePolicySpec({ kind: 'fixed' })).toEqual({ kind: 'fixed' });
  });
});
