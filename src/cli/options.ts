// Parsers for command-line values, used as yargs `coerce` functions so that a bad value stops the command
// before it starts with a message naming the option: `--pid abc` printed "--pid NaN" and `demo --seconds 10s`
// ran with NaN when these were yargs numbers. yargs calls a coerce function only for an option that was given
// or has a default (checked with yargs 18), so none of them sees undefined: each returns the parsed value, and
// an option without a default is `T | undefined` in the command's argument type (src/cli/command.ts).

import { parseDuration, parseSize } from '../units/units.js';
import { MAX_TIMER_MS } from '../loop/clock.js';
import { usageError } from './errors.js';

// The kernel's ceiling for pid_max (2^22).
const PID_MAX = 4_194_304;

/** A process id: a whole number from 1 to 2^22. */
export function pidOption(option: string) {
  return (value: unknown): number => {
    const text = String(value).trim();
    const pid = Number(text);
    if (!/^\d+$/.test(text) || pid < 1 || pid > PID_MAX) {
      throw usageError(
        `--${option} ${JSON.stringify(String(value))} is not a process id; use a whole number from 1 to ${PID_MAX}`,
      );
    }
    return pid;
  };
}

/** A whole number ≥ min. */
export function countOption(option: string, min = 1) {
  return (value: unknown): number => {
    const text = String(value).trim();
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min) {
      throw usageError(`--${option} ${JSON.stringify(String(value))} is not allowed; use a whole number ≥ ${min}`);
    }
    return Number(text);
  };
}

/**
 * A duration with a unit, in ms (`30s`, `10m`, `200ms`). A bare number is refused: `--duration 10` meant
 * 10 ms to the config parser, which is never what was meant on a command line. maxMs bounds durations
 * that go straight into one Node timer (2^31-1 ms at most).
 */
export function durationOption(
  option: string,
  { minMs = 0, maxMs = Number.MAX_SAFE_INTEGER, exclusiveMin = false } = {},
) {
  return (value: unknown): number => {
    const text = String(value).trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      throw usageError(
        `--${option} ${JSON.stringify(text)} has no unit; write e.g. ${text}s or ${text}ms (units: ms, s, m, h)`,
      );
    }
    const parsed = parseDuration(text);
    if (!parsed.ok) throw usageError(`--${option} ${JSON.stringify(text)} ${parsed.error}`);
    if (exclusiveMin ? parsed.value <= minMs : parsed.value < minMs) {
      throw usageError(
        `--${option} ${JSON.stringify(text)} must be ${exclusiveMin ? 'more than' : 'at least'} ${minMs} ms`,
      );
    }
    if (parsed.value > maxMs) throw usageError(`--${option} ${JSON.stringify(text)} is too long; at most ${maxMs} ms`);
    return parsed.value;
  };
}

/** A duration for one Node timer: more than 0 and at most 2^31-1 ms (24.8 days). */
export function timerDurationOption(option: string) {
  return durationOption(option, { minMs: 0, exclusiveMin: true, maxMs: MAX_TIMER_MS });
}

/** In ms: a bare number of seconds (the option's name says the unit), or a duration with a unit (`10s`, `2m`). */
export function secondsOption(option: string) {
  const withUnit = durationOption(option, { minMs: 0, exclusiveMin: true });
  return (value: unknown): number => {
    const text = String(value).trim();
    if (/^\d+(\.\d+)?$/.test(text)) {
      if (!(Number(text) > 0)) throw usageError(`--${option} ${text} must be more than 0`);
      return Number(text) * 1000;
    }
    return withUnit(text);
  };
}

/** A size in bytes more than 0 (`50MiB`). */
export function sizeOption(option: string) {
  return (value: unknown): number => {
    const parsed = parseSize(String(value));
    if (!parsed.ok) throw usageError(`--${option} ${JSON.stringify(String(value))} ${parsed.error}`);
    if (parsed.value <= 0) throw usageError(`--${option} ${JSON.stringify(String(value))} must be more than 0`);
    return parsed.value;
  };
}

/** A decimal number ≥ min (`0.1`). */
export function numberOption(option: string, min = Number.NEGATIVE_INFINITY) {
  return (value: unknown): number => {
    const text = String(value).trim();
    const number = Number(text);
    if (text === '' || !Number.isFinite(number) || number < min) {
      throw usageError(
        `--${option} ${JSON.stringify(String(value))} is not allowed; use a number${min > Number.NEGATIVE_INFINITY ? ` ≥ ${min}` : ''}`,
      );
    }
    return number;
  };
}

/** A whole number, possibly negative (a seed). */
export function integerOption(option: string) {
  return (value: unknown): number => {
    const text = String(value).trim();
    if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
      throw usageError(`--${option} ${JSON.stringify(String(value))} is not a whole number`);
    return Number(text);
  };
}
