// One validator per kind of config value. Each turns what YAML gave into the normalized value, or into a
// message that shows the value and says what is allowed (the key path and file are added by the caller).

import { z } from 'zod';
import { PARAMETER_RULES, POLICY_DEFAULTS, type ParameterName, type PolicyParameters } from '../policy/defaults.js';
import { parseEndpoint, type Endpoint } from '../units/endpoint.js';
import { ipv4ToNumber, parseIpv4Cidr, type Ipv4Cidr } from '../units/ipv4.js';
import { showValue } from './errors.js';
import { formatMs, parseDuration, parseSize, type Parsed } from './units.js';

// An optional key whose value `check` validates and converts; `what` completes "write …" for empty values.
export function field<T>(what: string, check: (value: unknown) => Parsed<T>) {
  return z
    .unknown()
    .transform((value, ctx): T => {
      if (value === null) {
        ctx.addIssue({ code: 'custom', message: `has no value; write ${what}, or leave the key out`, input: value });
        return z.NEVER;
      }
      const result = check(value);
      if (!result.ok) {
        ctx.addIssue({ code: 'custom', message: `${showValue(value)} ${result.error}`, input: value });
        return z.NEVER;
      }
      return result.value;
    })
    .optional();
}

// A number as YAML gives it; a quoted number gets its own hint.
function numberFrom(value: unknown, allowed: string): Parsed<number> {
  if (typeof value === 'number' && Number.isFinite(value)) return { ok: true, value };
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
    return { ok: false, error: 'is a string; write the number without quotes' };
  }
  return { ok: false, error: `is not a number; use ${allowed}` };
}

/** A size in bytes (`16MiB`, `4096`). */
export const size = field('a size (e.g. 16MiB)', parseSize);

/** A duration in ms (`200ms`, `1.5s`), at least `minMs`. */
export function duration(minMs: number) {
  return field('a duration (e.g. 200ms)', (value) => {
    const parsed = parseDuration(value);
    if (parsed.ok && parsed.value < minMs) return { ok: false, error: `is below the minimum of ${formatMs(minMs)}` };
    return parsed;
  });
}

/** A whole number in [min, max]. */
export function integer(min: number, max = Number.POSITIVE_INFINITY) {
  const allowed = max === Number.POSITIVE_INFINITY ? `a whole number ≥ ${min}` : `a whole number from ${min} to ${max}`;
  return field(allowed, (value) => {
    const parsed = numberFrom(value, allowed);
    if (!parsed.ok) return parsed;
    if (!Number.isInteger(parsed.value) || parsed.value < min || parsed.value > max) {
      return { ok: false, error: `is not allowed; use ${allowed}` };
    }
    return parsed;
  });
}

/** A whole number in [min, max], or `none` (null). */
export function integerOrNone(min: number, max: number) {
  const allowed = `a whole number from ${min} to ${max}, or none`;
  return field(allowed, (value): Parsed<number | null> => {
    if (value === 'none') return { ok: true, value: null };
    const parsed = numberFrom(value, allowed);
    if (!parsed.ok) return parsed;
    if (!Number.isInteger(parsed.value) || parsed.value < min || parsed.value > max) {
      return { ok: false, error: `is not allowed; use ${allowed}` };
    }
    return parsed;
  });
}

/** One of a fixed list of words. */
export function oneOf<const T extends string>(values: readonly T[]) {
  const allowed = `one of ${values.join(', ')}`;
  return field(allowed, (value): Parsed<T> => {
    const found = values.find((word) => word === value);
    if (found !== undefined) return { ok: true, value: found };
    return { ok: false, error: `is not allowed; use ${allowed}` };
  });
}

/** true or false (YAML 1.2: `yes`/`on` are strings, and rejected). */
export const flag = field('true or false', (value): Parsed<boolean> =>
  typeof value === 'boolean' ? { ok: true, value } : { ok: false, error: 'is not allowed; use true or false' },
);

/** true, false or auto (a setting remusd resolves from the rest of the config). */
export const flagOrAuto = field('true, false or auto', (value): Parsed<boolean | 'auto'> =>
  typeof value === 'boolean' || value === 'auto'
    ? { ok: true, value }
    : { ok: false, error: 'is not allowed; use true, false or auto' },
);

/** A network interface name as the kernel allows it (at most 15 characters, no slash or space). */
export const interfaceName = field('an interface name (e.g. veth-web)', (value): Parsed<string> =>
  typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,15}$/.test(value) && value !== '.' && value !== '..'
    ? { ok: true, value }
    : { ok: false, error: 'is not an interface name; use 1 to 15 letters, digits, or . _ : -' },
);

/** A network namespace name (a file name under /run/netns). */
export const namespaceName = field('a namespace name (e.g. remusd-web)', (value): Parsed<string> =>
  typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(value)
    ? { ok: true, value }
    : {
        ok: false,
        error: 'is not a namespace name; use 1 to 64 letters, digits, or . _ - (starting with a letter or digit)',
      },
);

/** An IPv4 host address with its subnet's prefix length (`10.88.0.2/24`). */
export const ipv4Cidr = field('an IPv4 address with its prefix length (e.g. 10.88.0.2/24)', (value): Parsed<Ipv4Cidr> =>
  typeof value === 'string'
    ? parseIpv4Cidr(value)
    : { ok: false, error: 'is not an IPv4 address with a prefix length; write e.g. 10.88.0.2/24' },
);

/** An IPv4 address (`10.88.0.1`). */
export const ipv4Address = field('an IPv4 address (e.g. 10.88.0.1)', (value): Parsed<string> =>
  typeof value === 'string' && ipv4ToNumber(value) !== undefined
    ? { ok: true, value }
    : { ok: false, error: 'is not an IPv4 address; write e.g. 10.88.0.1' },
);

/** A file system path; `~` is not expanded, so it is rejected rather than taken literally. */
export const path = field('a path', (value): Parsed<string> => {
  if (typeof value !== 'string' || value.trim() === '') {
    return { ok: false, error: 'is not a path; use a non-empty string' };
  }
  if (value.includes('\0')) return { ok: false, error: 'contains a NUL byte' };
  if (value.startsWith('~')) {
    return {
      ok: false,
      error: 'starts with ~, which is not expanded; write an absolute path or one relative to this file',
    };
  }
  return { ok: true, value };
});

/** A list of non-empty strings. */
export const stringList = z
  .array(
    field('a string', (value): Parsed<string> =>
      typeof value === 'string' && value !== ''
        ? { ok: true, value }
        : { ok: false, error: 'is not allowed; each item must be a non-empty string (quote numbers)' },
    ),
  )
  .optional();

/** `host:port`, `[v6]:port` (the one endpoint parser, src/units/endpoint.ts), port 1..65535. */
export const listen = field('host:port (e.g. 127.0.0.1:9464)', (value): Parsed<Endpoint> =>
  typeof value === 'string'
    ? parseEndpoint(value)
    : { ok: false, error: 'is not host:port; use e.g. 127.0.0.1:9464 or [::1]:9464' },
);

/** A policy parameter, checked against the policy's own rule (src/policy/defaults.ts). */
export function policyParameter<N extends ParameterName>(name: N) {
  const rule = PARAMETER_RULES[name];
  const allowed = `${rule.allowed} (default ${showValue(POLICY_DEFAULTS[name])})`;
  return field(rule.allowed, (value): Parsed<PolicyParameters[N]> => {
    if (typeof value === 'string' && name !== 'target') {
      const quoted = value.trim() !== '' && Number.isFinite(Number(value));
      return {
        ok: false,
        error: quoted ? 'is a string; write the number without quotes' : `is not a number; use ${allowed}`,
      };
    }
    return rule.check(value) ? { ok: true, value } : { ok: false, error: `is not allowed; use ${allowed}` };
  });
}
