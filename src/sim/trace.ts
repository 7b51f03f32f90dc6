// Trace replay: real remusd records turned into a dirty-rate trace, which then serves as a workload.
//
// Each record that measured a dirty set says: `pages_written` pages were dirtied in the window
// [start − elapsed_ms, start). Its rate is pages_written / elapsed_ms over that window. The first record
// of a chain (reason containing "chain start", or no elapsed_ms: the first of a run) stored the whole
// memory, not a dirty set, so it gives no rate and is skipped; its pages_written still counts towards the
// working set, since a full dump is the best bound on it there is. Time 0 is the start of the first
// window; a gap between windows holds the previous rate, and past the end the last rate holds.
// Records of mode full are refused: every one of them is the whole memory.

import { readFile } from 'node:fs/promises';
import type { RateSchedule, RateSegment } from './rate.js';
import { createWorkload, type Workload } from './workload.js';

/** A bad trace file: the message names the file and, when it is about one line, the line. */
export class TraceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceError';
  }
}

/** A dirty-rate trace recovered from records. */
export interface Trace {
  /** Where it came from (a file name), for messages. */
  source: string;
  schedule: RateSchedule;
  /** The largest pages_written of any record (chain starts included). */
  maxPagesWritten: number;
  /** Length of the trace: first window's start to last window's end, ms. */
  durationMs: number;
  /** Records that gave a rate, and records skipped as chain starts. */
  windows: number;
  skipped: number;
}

interface Window {
  beginMs: number;
  endMs: number;
  pages: number;
}

/** Parses records.jsonl text (named `source` in errors) into a trace; throws TraceError. */
export function traceFromRecords(text: string, source: string): Trace {
  const windows: Window[] = [];
  let maxPagesWritten = 0;
  let skipped = 0;
  let previousStart: number | undefined;
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${source}:${index + 1}`;
    const record = parseLine(line, where);
    if (previousStart !== undefined && record.startMs <= previousStart) {
      throw new TraceError(`${where}: start ${record.start} is not after the previous record's; records must be in the order remusd wrote them`);
    }
    previousStart = record.startMs;
    maxPagesWritten = Math.max(maxPagesWritten, record.pages);
    if (record.elapsedMs === undefined || record.reason.includes('chain start')) {
      skipped += 1;
      return;
    }
    windows.push({ beginMs: record.startMs - record.elapsedMs, endMs: record.startMs, pages: record.pages });
  });
  if (windows.length === 0) {
    throw new TraceError(
      `${source}: no record measures a dirty set (${skipped} chain start${skipped === 1 ? '' : 's'}); a trace needs records after the first of a chain`,
    );
  }
  const origin = windows[0]!.beginMs;
  const segments: RateSegment[] = windows.map((w, i) => ({
    startMs: w.beginMs - origin,
    // A window runs to the next one's start: gaps hold this rate, sub-ms overlaps are trimmed.
    endMs: (i + 1 < windows.length ? windows[i + 1]!.beginMs : w.endMs) - origin,
    pagesPerMs: w.pages / (w.endMs - w.beginMs),
  }));
  return {
    source,
    schedule: { segments, cycle: false },
    maxPagesWritten,
    durationMs: windows[windows.length - 1]!.endMs - origin,
    windows: windows.length,
    skipped,
  };
}

/** Reads a records.jsonl file into a trace; throws TraceError (unreadable file or bad line). */
export async function readTrace(path: string): Promise<Trace> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new TraceError(`${path}: cannot read the records file (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return traceFromRecords(text, path);
}

/** Options for replaying a trace as a workload. */
export interface TraceWorkloadOptions {
  /** Working set in pages; default the trace's largest pages_written. */
  workingSetPages?: number;
  noise?: number;
  seed?: number;
}

/** The trace as a workload model: its piecewise-constant rate, capped at W. */
export function traceWorkload(trace: Trace, options: TraceWorkloadOptions = {}): Workload {
  const workingSetPages = options.workingSetPages ?? trace.maxPagesWritten;
  return createWorkload({
    schedule: trace.schedule,
    workingSetPages: workingSetPages > 0 ? workingSetPages : 1,
    noise: options.noise,
    seed: options.seed,
    naturalDurationMs: trace.durationMs,
    description: `trace ${trace.source} (${trace.windows} windows over ${(trace.durationMs / 1000).toFixed(1)} s, W ${workingSetPages} pages)`,
  });
}

interface ParsedRecord {
  start: string;
  startMs: number;
  elapsedMs: number | undefined;
  pages: number;
  reason: string;
}

// One line to the fields a trace needs, or a TraceError naming `where` (file:line) and the field.
function parseLine(line: string, where: string): ParsedRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new TraceError(`${where}: not a JSON record (${(error as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TraceError(`${where}: expected a JSON object (one remusd record), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`);
  }
  const r = value as Record<string, unknown>;
  if (r.mode === 'full') {
    throw new TraceError(`${where}: a mode full record stores the whole memory, not a dirty set; record the trace in mode delta, dump or pre-dump`);
  }
  const start = r.start;
  const startMs = typeof start === 'string' ? Date.parse(start) : Number.NaN;
  if (!Number.isFinite(startMs)) throw new TraceError(`${where}: start ${show(start)} is not an ISO-8601 time`);
  const pages = r.pages_written;
  if (typeof pages !== 'number' || !Number.isInteger(pages) || pages < 0) {
    throw new TraceError(`${where}: pages_written ${show(pages)} is not a whole number ≥ 0`);
  }
  const elapsed = r.elapsed_ms;
  if (elapsed !== undefined && elapsed !== null && (typeof elapsed !== 'number' || !(elapsed > 0) || !Number.isFinite(elapsed))) {
    throw new TraceError(`${where}: elapsed_ms ${show(elapsed)} is not a number of ms > 0 (or null for the first record of a run)`);
  }
  const reason = r.reason ?? '';
  if (typeof reason !== 'string') throw new TraceError(`${where}: reason ${show(reason)} is not a string`);
  return { start: start as string, startMs, elapsedMs: typeof elapsed === 'number' ? elapsed : undefined, pages, reason };
}

function show(value: unknown): string {
  return value === undefined ? '(missing)' : JSON.stringify(value);
}
