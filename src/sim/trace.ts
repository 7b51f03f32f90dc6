// Trace replay: real remusd records turned into a dirty-rate trace, which then serves as a workload.
//
// Each record that measured a dirty set says: `pages_written` pages were dirtied in the window
// [start − elapsed_ms, start). Its rate is pages_written / elapsed_ms over that window. The first record
// of a chain (chain_start) stored the whole memory, not a dirty set, so it gives no rate and is skipped, as
// is the first of a run (no elapsed_ms); a chain start's pages_written still counts towards the working set,
// since a full dump is the best bound on it there is. Time 0 is the start of the first window; a gap between
// windows (a chain start's) holds the previous rate, or steps in its middle when the rates around it are far
// apart, and past the end the last rate holds. A window between two rates far apart holds the step between
// them (stepInside). The trace also keeps how late each checkpoint started after its wait (lateStartsMs),
// which a replay draws from. Records of mode full are refused: every one of them is the whole memory. The
// records are read by src/loop/record-reader.ts.

import { readRecords, RecordsError, type ReadRecord } from '../loop/record-reader.js';
import type { CheckpointMode } from '../model/record.js';
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
  /** The checkpoint mode of the recorded run (undefined for simulated records). */
  mode: CheckpointMode | undefined;
  schedule: RateSchedule;
  /** The largest pages_written of any record (chain starts included). */
  maxPagesWritten: number;
  /** Length of the trace: first window's start to last window's end, ms. */
  durationMs: number;
  /** Records that gave a rate, and records skipped as chain starts or firsts of a run. */
  windows: number;
  skipped: number;
  /**
   * How late each checkpoint started after its wait, ms (elapsed − interval, where the previous checkpoint
   * ended within its interval and the start was the interval's, not the probe's): the supervisor's timer
   * and event loop, which the simulator's clock does not have. A replay draws from these (startLate).
   */
  lateStartsMs: number[];
}

interface Window {
  beginMs: number;
  endMs: number;
  pages: number;
}

/** Turns records (named `source` in errors) into a trace; throws TraceError. */
export function traceFromRecords(records: readonly ReadRecord[], source: string): Trace {
  const windows: Window[] = [];
  let maxPagesWritten = 0;
  let skipped = 0;
  let previousStart: number | undefined;
  let previous: ReadRecord | undefined;
  const lateStartsMs: number[] = [];
  for (const record of records) {
    if (record.mode === 'full') {
      throw new TraceError(
        `${record.where}: a mode full record stores the whole memory, not a dirty set; record the trace in mode delta, dump or pre-dump`,
      );
    }
    if (previousStart !== undefined && record.startMs <= previousStart) {
      throw new TraceError(
        `${record.where}: start ${new Date(record.startMs).toISOString()} is not after the previous record's; records must be in the order remusd wrote them`,
      );
    }
    previousStart = record.startMs;
    const late = lateStart(previous, record);
    if (late !== undefined) lateStartsMs.push(late);
    previous = record;
    maxPagesWritten = Math.max(maxPagesWritten, record.pagesWritten);
    if (record.elapsedMs === undefined || record.chainStart) {
      skipped += 1;
      continue;
    }
    windows.push({ beginMs: record.startMs - record.elapsedMs, endMs: record.startMs, pages: record.pagesWritten });
  }
  const firstWindow = windows[0];
  const lastWindow = windows.at(-1);
  const firstRecord = records[0];
  if (firstWindow === undefined || lastWindow === undefined || firstRecord === undefined) {
    throw new TraceError(
      `${source}: no record measures a dirty set (${skipped} chain start${skipped === 1 ? '' : 's'}); a trace needs records after the first of a chain`,
    );
  }
  const origin = firstWindow.beginMs;
  const rateOf = (w: Window) => w.pages / (w.endMs - w.beginMs);
  const rates = windows.map(rateOf);
  // Each window's rate, or the step inside it; then each runs to the next one's start (sub-ms overlaps trimmed).
  const pieces = windows.map((w, i): RateSegment[] => {
    const rate = rateOf(w);
    const step = stepInside(w, rate, rates[i - 1], rates[i + 1]);
    if (step === undefined) return [{ startMs: w.beginMs - origin, endMs: w.endMs - origin, pagesPerMs: rate }];
    return [
      { startMs: w.beginMs - origin, endMs: step.atMs - origin, pagesPerMs: step.before },
      { startMs: step.atMs - origin, endMs: w.endMs - origin, pagesPerMs: step.after },
    ];
  });
  const segments = pieces.flatMap((piece, i): RateSegment[] => {
    const last = piece.at(-1);
    const next = pieces[i + 1]?.[0];
    if (last === undefined || next === undefined) return piece;
    // Starts and elapsed times are rounded: windows a millisecond apart or less are back to back.
    if (!(next.startMs - last.endMs > 1) || !farApart(last.pagesPerMs, next.pagesPerMs)) {
      last.endMs = next.startMs; // a gap (a chain start's window) holds the rate before it
      return piece;
    }
    // A gap between two rates far apart held the step, at an unknown time: its middle is the unbiased guess
    // (holding the rate before put it at the gap's end, always late).
    const middleMs = (last.endMs + next.startMs) / 2;
    last.endMs = middleMs;
    return [...piece, { startMs: middleMs, endMs: next.startMs, pagesPerMs: next.pagesPerMs }];
  });
  const mode = firstRecord.mode;
  return {
    source,
    mode: mode === 'sim' ? undefined : mode,
    schedule: { segments, cycle: false },
    maxPagesWritten,
    durationMs: lastWindow.endMs - origin,
    windows: windows.length,
    skipped,
    lateStartsMs,
  };
}

/**
 * How late a record's checkpoint started after the interval's wait, or undefined when it did not start on that
 * wait: the first of a run, a start the probe chose, or a previous checkpoint that ran (CRIU, the rewrite and
 * the supervisor's work) into the interval, so that the next started when it ended.
 */
function lateStart(previous: ReadRecord | undefined, record: ReadRecord): number | undefined {
  if (previous === undefined || record.elapsedMs === undefined || record.probeTrigger !== undefined) return undefined;
  const { criuWallMs, deltaMs, supervisorOverheadMs } = previous;
  if (criuWallMs === undefined || supervisorOverheadMs === undefined) return undefined;
  if (!(criuWallMs + (deltaMs ?? 0) + supervisorOverheadMs < record.intervalMs)) return undefined;
  return Math.max(0, record.elapsedMs - record.intervalMs);
}

/** Neighbouring windows' rates must differ by this factor for a window between them to hold a step: well
 * below the 10× steps of issue 11's workloads, above most window-to-window noise (in the real runs of
 * test/sim/calibration-real.test.ts, 244 of 448 neighbouring windows' rates differed by less than 1.3×). */
const STEP_FACTOR = 2;

/** Whether two rates differ by STEP_FACTOR or more. */
function farApart(a: number, b: number): boolean {
  return Math.max(a, b) >= STEP_FACTOR * Math.min(a, b);
}

/**
 * A window whose rate lies strictly between its neighbours' rates (a before, c after), which differ by
 * STEP_FACTOR or more, is read as a step from a to c inside it, placed where the window keeps exactly its
 * pages: a·(τ − begin) + c·(end − τ) = pages. Why: a rate step falls inside some checkpoint's window, and
 * spread over that window as its average it became a ramp in the replay: a 5 s window with a 10× step ~1 s
 * into it read as 5 s at 0.8× the high rate, and a policy seeing the high rate late made moves the real
 * run never made. Six real runs (test/sim/calibration-real.test.ts) replayed 2.7–6.1 points less in band in
 * three of them, pooled by pairs −4.3, −3.0 and +0.2 points; with the steps read inside, −0.4, −0.3, +0.2.
 */
function stepInside(
  w: Window,
  b: number,
  a: number | undefined,
  c: number | undefined,
): { atMs: number; before: number; after: number } | undefined {
  if (a === undefined || c === undefined || !((a < b && b < c) || (a > b && b > c))) return undefined;
  if (!farApart(a, c)) return undefined;
  return { atMs: w.beginMs + ((c - b) * (w.endMs - w.beginMs)) / (c - a), before: a, after: c };
}

/** Reads a records.jsonl file into a trace; throws TraceError (unreadable file, bad line, no dirty sets). */
export async function readTrace(path: string): Promise<Trace> {
  const records = await readRecords(path).catch((error: unknown) => {
    throw error instanceof RecordsError ? new TraceError(error.message) : error;
  });
  return traceFromRecords(records, path);
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
