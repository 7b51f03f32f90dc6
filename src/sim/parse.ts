// The text forms of workload parameters on the command line, parsed into numbers (pure; errors are
// returned, not thrown, as phrases that say what is allowed).
//
//   phases  RATE:DURATION[,RATE:DURATION…]   the bundled dirtier's --phases form; phases cycle
//   bursts  RATE:DURATION:EVERY              extra writes for DURATION, on average once per EVERY
//   RATE     pages per second (`8000`, as the dirtier takes it) or a size per second (`32MiB/s`)
//   DURATION seconds (`10`, as the dirtier takes it) or a duration with a unit (`500ms`, `1.5s`, `2m`)

import { parseDuration, parseSize, type Parsed } from '../units/units.js';

/** One phase of a synthetic workload. */
export interface Phase {
  pagesPerSecond: number;
  durationMs: number;
}

const PHASES_HELP = "use RATE:SECONDS[,RATE:SECONDS…], RATE in pages/s or like 32MiB/s (e.g. '8000:10,200:10')";
const BURSTS_HELP = "use RATE:DURATION:EVERY (e.g. '20000:200ms:5s')";

/** Parses a rate: pages per second, or a size per second converted with the page size. */
export function parseRate(text: string, pageSize: number): Parsed<number> {
  const trimmed = text.trim();
  if (trimmed.endsWith('/s')) {
    const size = parseSize(trimmed.slice(0, -2));
    return size.ok
      ? { ok: true, value: size.value / pageSize }
      : { ok: false, error: `rate ${JSON.stringify(text)} ${size.error}` };
  }
  const pages = Number(trimmed);
  if (trimmed === '' || !Number.isFinite(pages) || pages < 0) {
    return {
      ok: false,
      error: `rate ${JSON.stringify(text)} is not a number of pages/s ≥ 0 or a size per second like 32MiB/s`,
    };
  }
  return { ok: true, value: pages };
}

/** Parses a duration: a bare number is seconds (the dirtier's unit); otherwise a duration with a unit. */
export function parseSeconds(text: string): Parsed<number> {
  const trimmed = text.trim();
  if (/^(\d+(\.\d+)?|\.\d+)$/.test(trimmed)) return { ok: true, value: Number(trimmed) * 1000 };
  const parsed = parseDuration(trimmed);
  return parsed.ok ? parsed : { ok: false, error: `duration ${JSON.stringify(text)} ${parsed.error}` };
}

/** Parses a phases list. */
export function parsePhases(text: string, pageSize: number): Parsed<Phase[]> {
  const phases: Phase[] = [];
  for (const [i, part] of text.split(',').entries()) {
    const [rateText, durationText, ...more] = part.split(':');
    if (rateText === undefined || durationText === undefined || more.length > 0)
      return { ok: false, error: `phase ${i + 1} (${JSON.stringify(part)}) is not RATE:SECONDS; ${PHASES_HELP}` };
    const rate = parseRate(rateText, pageSize);
    if (!rate.ok) return { ok: false, error: `phase ${i + 1}: ${rate.error}` };
    const duration = parseSeconds(durationText);
    if (!duration.ok) return { ok: false, error: `phase ${i + 1}: ${duration.error}` };
    if (duration.value <= 0) return { ok: false, error: `phase ${i + 1}: a phase lasts more than 0 s` };
    phases.push({ pagesPerSecond: rate.value, durationMs: duration.value });
  }
  return { ok: true, value: phases };
}

/** Parses a bursts spec. */
export function parseBursts(
  text: string,
  pageSize: number,
): Parsed<{ pagesPerSecond: number; durationMs: number; everyMs: number }> {
  const [rateText, durationText, everyText, ...more] = text.split(':');
  if (rateText === undefined || durationText === undefined || everyText === undefined || more.length > 0)
    return { ok: false, error: `${JSON.stringify(text)} is not RATE:DURATION:EVERY; ${BURSTS_HELP}` };
  const rate = parseRate(rateText, pageSize);
  if (!rate.ok) return rate;
  const duration = parseSeconds(durationText);
  if (!duration.ok) return duration;
  const every = parseSeconds(everyText);
  if (!every.ok) return every;
  if (duration.value <= 0) return { ok: false, error: `a burst lasts more than 0 ms; ${BURSTS_HELP}` };
  if (every.value < duration.value)
    return {
      ok: false,
      error: `bursts cannot come more often (every ${every.value} ms) than they last (${duration.value} ms)`,
    };
  return { ok: true, value: { pagesPerSecond: rate.value, durationMs: duration.value, everyMs: every.value } };
}
