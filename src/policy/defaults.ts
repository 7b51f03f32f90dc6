// Every policy parameter's default and allowed range, in one place. The policy constructors check their
// options against these rules, and the config validator reports against the same rules, so a value the
// config accepts is always one the policy accepts.

/** Where inside the band the predictive policy aims. */
export type TargetRule = 'geometric' | 'arithmetic';

/** The target rules, for validation and help text. */
export const TARGET_RULES: readonly TargetRule[] = ['geometric', 'arithmetic'];

/**
 * Defaults, and why:
 * - shrink 0.5: a checkpoint above Lmax is what the band exists to prevent (longer freeze, replication lag),
 *   so the rule halves the interval and gets back into the band in few steps.
 * - grow 1.5: growing only saves overhead, so it is gentler than shrinking (as in AIMD); a grow followed by
 *   a shrink lands at 0.75× rather than back where it was, which damps oscillation around Lmax.
 * - window 8: enough observations for a median to shrug off one or two outliers, few enough that the
 *   estimate follows a workload change within a few seconds at typical intervals.
 * - maxStep 4: one decision changes the interval at most ×4 or ÷4, so a bad estimate costs little.
 * - target geometric: sqrt(Lmin·Lmax) leaves the same ratio of headroom to both edges; rate estimates are
 *   off by a factor more than by an offset, so this is the point least likely to fall out of the band.
 * - maxFitError 0.3: the fit is trusted when the median observation is within ±30 % of the model.
 */
export const POLICY_DEFAULTS: Readonly<PolicyParameters> = Object.freeze({
  shrink: 0.5,
  grow: 1.5,
  window: 8,
  maxStep: 4,
  target: 'geometric',
  maxFitError: 0.3,
});

/** Every tunable parameter of every policy, by name (each policy uses a subset). */
export interface PolicyParameters {
  shrink: number;
  grow: number;
  window: number;
  maxStep: number;
  target: TargetRule;
  maxFitError: number;
}

/** The names of the tunable parameters. */
export type ParameterName = keyof PolicyParameters;

/** One parameter's allowed range: a check and the words that describe it. */
export interface ParameterRule {
  /** Completes "use …", e.g. "a number with 0 < x < 1". */
  readonly allowed: string;
  readonly check: (value: unknown) => boolean;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The allowed range of each parameter. */
export const PARAMETER_RULES: Readonly<Record<ParameterName, ParameterRule>> = Object.freeze({
  shrink: { allowed: 'a number between 0 and 1, exclusive', check: (v) => isNumber(v) && v > 0 && v < 1 },
  grow: { allowed: 'a number above 1 and at most 10', check: (v) => isNumber(v) && v > 1 && v <= 10 },
  window: {
    allowed: 'a whole number from 3 to 64',
    check: (v) => isNumber(v) && Number.isInteger(v) && v >= 3 && v <= 64,
  },
  maxStep: { allowed: 'a number above 1 and at most 100', check: (v) => isNumber(v) && v > 1 && v <= 100 },
  target: {
    allowed: TARGET_RULES.map((rule) => `"${rule}"`).join(' or '),
    check: (v) => typeof v === 'string' && (TARGET_RULES as readonly string[]).includes(v),
  },
  maxFitError: {
    allowed: 'a number above 0 and at most 10',
    check: (v) => isNumber(v) && v > 0 && v <= 10,
  },
});

/** Returns the value, or the default when undefined; throws a RangeError naming the policy when out of range. */
export function checkedParameter<N extends ParameterName>(
  policy: string,
  name: N,
  value: PolicyParameters[N] | undefined,
): PolicyParameters[N] {
  if (value === undefined) return POLICY_DEFAULTS[name];
  const rule = PARAMETER_RULES[name];
  if (!rule.check(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
    throw new RangeError(`${policy} policy: ${name} ${shown} is not allowed; use ${rule.allowed}`);
  }
  return value;
}
