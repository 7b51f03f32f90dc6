// Every --json output goes through here: keys become snake_case (the records' own convention) whatever the
// code calls them internally, so no output mixes lmin_bytes with inBandShare. The shape of each command's
// output is written down in src/cli/json-schemas.ts, which the tests check every output against.

import { writeStdout } from './stdout.js';

/** `inBandShare` → `in_band_share`; keys without capitals (`pre-dump`, `pages_written`) stay as they are. */
export function snakeCase(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** A copy of a JSON value with every object key in snake_case; undefined values are dropped, as JSON does. */
export function snakeCaseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeCaseKeys);
  if (value === null || typeof value !== 'object' || value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value)) if (inner !== undefined) out[snakeCase(key)] = snakeCaseKeys(inner);
  return out;
}

/** Prints a command's result as pretty JSON on stdout, keys in snake_case. */
export function printJson(value: unknown): void {
  writeStdout(`${JSON.stringify(snakeCaseKeys(value), null, 2)}\n`);
}
