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
 * - window 8: the predictive estimate is the geometric mean of at most the 8 newest rates seen since the
 *   last change of rate. With noise 0.2 per 100 ms (compare's --noise 0.2) a 200 ms observation's rate is
 *   off by ~14 % (log-sd); 8 of them by ~5 %, well inside the deadband. In `remusd compare` (band [1, 4] MiB,
 *   10× steps every 20 s, noise 0.2, 20 seeds) window 4 instead of 8 doubled the reversals (0.6 → 1.4 %
 *   with bursts): the estimate wandered out of the deadband.
 * - change 1.5: a rate further than ×1.5 from the estimate is a change, and the old rate is forgotten at
 *   once. ln 1.5 = 0.41 is > 4 log-sds of a 500 ms observation at noise 0.2, so noise alone seldom trips
 *   it, while every step the issue measures (10×) does, on its first observation.
 * - deadband 1.7: in the band, the interval holds while the size predicted for it stays within ×1.7 of
 *   the target (and inside the band). The settled v1 moved by a few ms every checkpoint; this stops that.
 *   In the same compare, 1.5 left 1.2 % reversals with bursts, 1.7 0.6 % (threshold: 1.1 %).
 * - target geometric: sqrt(Lmin·Lmax) leaves the same ratio of headroom to both edges; rate estimates are
 *   off by a factor more than by an offset, so this is the point least likely to fall out of the band.
 */
export const POLICY_DEFAULTS: Readonly<PolicyParameters> = Object.freeze({
  shrink: 0.5,
  grow: 1.5,
  window: 8,
  change: 1.5,
  deadband: 1.7,
  target: 'geometric',
});

/** Every tunable parameter of every policy, by name (each policy uses a subset). */
export interface PolicyParameters {
  shrink: number;
  grow: number;
  window: number;
  change: number;
  deadband: number;
  target: TargetRule;
}

/** The names of the tunable parameters. */
export type ParameterName = keyof PolicyParameters;

/** One parameter's allowed range: a check (which also tells the compiler the value's type) and its words. */
export interface ParameterRule<T> {
  /** Completes "use …", e.g. "a number with 0 < x < 1". */
  readonly allowed: string;
  readonly check: (value: unknown) => value is T;
}

const isNumber = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value);

/** The allowed range of each parameter. */
export const PARAMETER_RULES: Readonly<{ [N in ParameterName]: ParameterRule<PolicyParameters[N]> }> = Object.freeze({
  shrink: { allowed: 'a number between 0 and 1, exclusive', check: (v): v is number => isNumber(v) && v > 0 && v < 1 },
  grow: { allowed: 'a number above 1 and at most 10', check: (v): v is number => isNumber(v) && v > 1 && v <= 10 },
  window: {
    allowed: 'a whole number from 1 to 64',
    check: (v): v is number => isNumber(v) && Number.isInteger(v) && v >= 1 && v <= 64,
  },
  change: { allowed: 'a number above 1 and at most 10', check: (v): v is number => isNumber(v) && v > 1 && v <= 10 },
  deadband: { allowed: 'a number from 1 to 10', check: (v): v is number => isNumber(v) && v >= 1 && v <= 10 },
  target: {
    allowed: TARGET_RULES.map((rule) => `"${rule}"`).join(' or '),
    check: (v): v is TargetRule => TARGET_RULES.some((rule) => rule === v),
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
