// Choosing a policy by name: the one place that knows every kind, for the config and the CLI.

import type { Policy } from '../model/policy.js';
import { POLICY_DEFAULTS, type ParameterName, type TargetRule } from './defaults.js';
import { FixedPolicy } from './fixed.js';
import { PredictivePolicy, type PredictiveOptions } from './predictive.js';
import { ThresholdPolicy, type ThresholdOptions } from './threshold.js';

// The policies and their building blocks, so that callers import from one place.
export { FixedPolicy } from './fixed.js';
export { ThresholdPolicy, judgeSize, type ThresholdOptions, type SizeVerdict } from './threshold.js';
export { PredictivePolicy, targetBytes, type PredictiveOptions, type PredictiveState } from './predictive.js';
export { POLICY_DEFAULTS, PARAMETER_RULES, TARGET_RULES, type ParameterName, type TargetRule } from './defaults.js';

/** Every policy kind, in the order help text lists them. */
export const POLICY_KINDS = ['fixed', 'threshold', 'predictive'] as const;

/** A policy kind's name. */
export type PolicyKind = (typeof POLICY_KINDS)[number];

/** Which policy to run and its options; options left out take POLICY_DEFAULTS. */
export type PolicySpec =
  | { kind: 'fixed' }
  | ({ kind: 'threshold' } & ThresholdOptions)
  | ({ kind: 'predictive' } & PredictiveOptions);

/** A PolicySpec with every option filled in (what the config hands over, and what gets logged). */
export type ResolvedPolicySpec =
  | { kind: 'fixed' }
  | ({ kind: 'threshold' } & Required<ThresholdOptions>)
  | ({ kind: 'predictive' } & Required<PredictiveOptions>);

/** The option names each kind takes (anything else set for that kind has no effect). */
export const POLICY_OPTIONS: Readonly<Record<PolicyKind, readonly ParameterName[]>> = Object.freeze({
  fixed: [],
  threshold: ['shrink', 'grow'],
  predictive: ['window', 'change', 'deadband', 'target'],
});

/** Fills in defaults; does not validate (createPolicy does). */
export function resolvePolicySpec(spec: PolicySpec): ResolvedPolicySpec {
  const d = POLICY_DEFAULTS;
  switch (spec.kind) {
    case 'fixed':
      return { kind: 'fixed' };
    case 'threshold':
      return { kind: 'threshold', shrink: spec.shrink ?? d.shrink, grow: spec.grow ?? d.grow };
    case 'predictive':
      return {
        kind: 'predictive',
        window: spec.window ?? d.window,
        change: spec.change ?? d.change,
        deadband: spec.deadband ?? d.deadband,
        target: spec.target ?? d.target,
      };
  }
}

/** Builds the policy a spec names; throws a RangeError for an option out of range or an unknown kind. */
export function createPolicy(spec: PolicySpec): Policy {
  switch (spec.kind) {
    case 'fixed':
      return new FixedPolicy();
    case 'threshold':
      return new ThresholdPolicy({ shrink: spec.shrink, grow: spec.grow });
    case 'predictive':
      return new PredictivePolicy({
        window: spec.window,
        change: spec.change,
        deadband: spec.deadband,
        target: spec.target,
      });
    default: {
      const kind: unknown = (spec as { kind: unknown }).kind;
      throw new RangeError(`unknown policy kind ${JSON.stringify(kind)}; use one of ${POLICY_KINDS.join(', ')}`);
    }
  }
}

/** Where the dirty-size probe aims for a policy: the predictive policy's own target, the geometric middle otherwise. */
export function aimRuleOf(spec: PolicySpec): TargetRule {
  return spec.kind === 'predictive' ? (spec.target ?? POLICY_DEFAULTS.target) : 'geometric';
}
