// Sizes and durations as people write them in config files, and as remusd prints them.
//
// This module imports nothing: the policies use the format helpers for their reasons and the config code
// uses the parsers, so it must not depend on either.
//
// Sizes accept a plain number of bytes or binary units only: B, KiB, MiB, GiB, TiB (case-insensitive,
// optional space: `16MiB`, `16 MiB`, `1.5GiB`, `4096`). Decimal-looking units (K, KB, M, MB, G, GB, T, TB)
// are rejected with a hint, because people use them for both 10^6 and 2^20 and a checkpoint band that is
// off by 5 % is a silent, hard-to-spot error. The result must be a whole number of bytes.
//
// Durations accept a plain number of milliseconds or units ms, s, m (or min), h (`200ms`, `1.5s`, `2m`).

/** The outcome of parsing one value: the value, or what is wrong with it (a phrase that follows the value). */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

// Units that look decimal; mapped to the binary unit we suggest instead.
const AMBIGUOUS_SIZE_UNITS: Record<string, { binary: string; decimal: number }> = {
  k: { binary: 'KiB', decimal: 1e3 },
  kb: { binary: 'KiB', decimal: 1e3 },
  m: { binary: 'MiB', decimal: 1e6 },
  mb: { binary: 'MiB', decimal: 1e6 },
  g: { binary: 'GiB', decimal: 1e9 },
  gb: { binary: 'GiB', decimal: 1e9 },
  t: { binary: 'TiB', decimal: 1e12 },
  tb: { binary: 'TiB', decimal: 1e12 },
};

const DURATION_UNITS: Record<string, number> = {
  '': 1,
  ms: 1,
  s: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
};

const NUMBER_WITH_UNIT = /^(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)$/;

/** What a size must look like; the tail of every size error. */
export const SIZE_HELP = 'use a number of bytes or units B, KiB, MiB, GiB, TiB (e.g. 16MiB)';

/** What a duration must look like; the tail of every duration error. */
export const DURATION_HELP = 'use a number of milliseconds or units ms, s, m, h (e.g. 200ms, 1.5s, 2m)';

/** Parses a size (`16MiB`, `16 MiB`, `4096`, or a YAML number of bytes) into bytes. */
export function parseSize(input: unknown): Parsed<number> {
  if (typeof input === 'number') return wholeBytes(input, String(input));
  if (typeof input !== 'string') return { ok: false, error: `is not a size; ${SIZE_HELP}` };
  const match = NUMBER_WITH_UNIT.exec(input.trim());
  if (!match) return { ok: false, error: `is not a size; ${SIZE_HELP}` };
  const amount = Number(match[1]);
  const unit = (match[2] ?? '').toLowerCase();
  const scale = SIZE_UNITS[unit];
  if (scale !== undefined) return wholeBytes(amount * scale, input.trim());
  const ambiguous = AMBIGUOUS_SIZE_UNITS[unit];
  if (ambiguous) {
    const decimal = amount * ambiguous.decimal;
    return {
      ok: false,
      error:
        `is not a size; ${SIZE_HELP}: "${match[2]}" is ambiguous (10^n or 2^n bytes), ` +
        `write ${match[1]}${ambiguous.binary} or ${Number.isSafeInteger(decimal) ? decimal : 'a number of bytes'}`,
    };
  }
  return { ok: false, error: `is not a size; ${SIZE_HELP}` };
}

function wholeBytes(bytes: number, written: string): Parsed<number> {
  if (!Number.isFinite(bytes)) return { ok: false, error: `is not a size; ${SIZE_HELP}` };
  if (bytes < 0) return { ok: false, error: 'is negative; a size is 0 or more bytes' };
  if (!Number.isInteger(bytes)) {
    return { ok: false, error: `is ${bytes} bytes, not a whole number of bytes (${written}); ${SIZE_HELP}` };
  }
  if (!Number.isSafeInteger(bytes)) return { ok: false, error: 'is too large (more than 2^53 bytes)' };
  return { ok: true, value: bytes };
}

/** Parses a duration (`200ms`, `1.5s`, `2m`, or a YAML number of milliseconds) into milliseconds. */
export function parseDuration(input: unknown): Parsed<number> {
  let ms: number;
  if (typeof input === 'number') {
    ms = input;
  } else if (typeof input === 'string') {
    const match = NUMBER_WITH_UNIT.exec(input.trim());
    const scale = match ? DURATION_UNITS[match[2] ?? ''] : undefined;
    if (!match || scale === undefined) return { ok: false, error: `is not a duration; ${DURATION_HELP}` };
    ms = Number(match[1]) * scale;
  } else {
    return { ok: false, error: `is not a duration; ${DURATION_HELP}` };
  }
  if (!Number.isFinite(ms)) return { ok: false, error: `is not a duration; ${DURATION_HELP}` };
  if (ms < 0) return { ok: false, error: 'is negative; a duration is 0 or more' };
  return { ok: true, value: ms };
}

/** Bytes for people: `512 B`, `12.0 MiB` (binary units, one decimal). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return `${bytes} B`;
  const sign = bytes < 0 ? '-' : '';
  let value = Math.abs(bytes);
  if (value < 1024) return `${sign}${Math.round(value)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let unit = 0;
  value /= 1024;
  // Move up while the rounded figure would read 1024.0 or more.
  while (Number(value.toFixed(1)) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${sign}${value.toFixed(1)} ${units[unit]}`;
}

/** Milliseconds for people: `200 ms` below a second, `1.50 s` from a second up. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return `${ms} ms`;
  const rounded = Math.round(ms);
  if (Math.abs(rounded) < 1000) {
    // Sub-10 ms values keep one decimal so that 0.5 ms does not print as 1 ms.
    return Math.abs(ms) < 10 && !Number.isInteger(ms) ? `${ms.toFixed(1)} ms` : `${rounded} ms`;
  }
  return `${(ms / 1000).toFixed(2)} s`;
}

/** A size in the exact form a config file accepts (`16MiB`, `1536KiB`, `4097`): parseSize gives it back. */
export function formatSize(bytes: number): string {
  if (bytes === 0 || !Number.isSafeInteger(bytes)) return String(bytes);
  for (const [unit, scale] of [
    ['TiB', 2 ** 40],
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const) {
    if (bytes % scale === 0) return `${bytes / scale}${unit}`;
  }
  return String(bytes);
}

/** A duration in the exact form a config file accepts (`2m`, `1500ms`): parseDuration gives it back. */
export function formatDuration(ms: number): string {
  if (ms === 0 || !Number.isSafeInteger(ms)) return `${ms}ms`;
  for (const [unit, scale] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (ms % scale === 0) return `${ms / scale}${unit}`;
  }
  return `${ms}ms`;
}
