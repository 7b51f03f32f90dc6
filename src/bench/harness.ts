// Micro-benchmark harness: times a function per operation (median of batches after warm-up) and
// reports each result beside a baseline measured in the same run, because this machine is noisy.

import { at } from '../at.js';

/** One reported measurement; value and baseline share a unit so their ratio means something. */
export interface BenchRow {
  bench: string;
  name: string;
  unit: string;
  value: number;
  baseline?: { name: string; value: number };
  /** value / baseline.value */
  ratio?: number;
  /** Human-readable goal, e.g. "< 50 µs/op". */
  target?: string;
  /** Whether value met the target, when the target is absolute. */
  pass?: boolean;
}

/** What every bench module exports; main.ts registers modules by name. */
export interface BenchModule {
  run(): Promise<BenchRow[]>;
}

/** How long to time a function for. */
export interface TimeOptions {
  /** Timed calls in all, split evenly over the batches. */
  iterations: number;
  batches?: number;
  /** Untimed calls first, so the JIT has settled. */
  warmup?: number;
}

/** What timePerCall measured, in nanoseconds per call. */
export interface Timing {
  /** Median over batches of (batch time / calls in the batch). */
  medianNs: number;
  minNs: number;
  maxNs: number;
  batches: number;
  callsPerBatch: number;
}

// Keeps results alive so the JIT cannot drop the calls being timed (exported: a store nobody can read
// is dead code to both tsc and the JIT).
export let sink: unknown;

// Times fn per call: warm-up, then `batches` timed batches; reports the median per-call time.
export function timePerCall(fn: () => unknown, options: TimeOptions): Timing {
  const batches = options.batches ?? 10;
  const callsPerBatch = Math.max(1, Math.floor(options.iterations / batches));
  const warmup = options.warmup ?? Math.min(callsPerBatch, 10_000);
  for (let i = 0; i < warmup; i++) sink = fn();
  const perCall: number[] = [];
  for (let b = 0; b < batches; b++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < callsPerBatch; i++) sink = fn();
    perCall.push(Number(process.hrtime.bigint() - start) / callsPerBatch);
  }
  perCall.sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  const medianNs = perCall.length % 2 === 1 ? at(perCall, mid) : (at(perCall, mid - 1) + at(perCall, mid)) / 2;
  return { medianNs, minNs: at(perCall, 0), maxNs: at(perCall, perCall.length - 1), batches, callsPerBatch };
}

/**
 * Runs each task `rounds` times in turns (a, b, a, b, …) and returns each task's results, in round order. On this
 * shared machine the neighbours' load comes and goes within a bench: in turns, every task meets it alike.
 */
export async function inTurns<T>(rounds: number, tasks: readonly (() => Promise<T> | T)[]): Promise<T[][]> {
  const results = tasks.map((): T[] => []);
  for (let round = 0; round < rounds; round++)
    for (const [i, task] of tasks.entries()) at(results, i).push(await task());
  return results;
}

// Builds a row with its baseline and the ratio between them.
export function compareRow(fields: {
  bench: string;
  name: string;
  unit: string;
  value: number;
  baseline: { name: string; value: number };
  target?: { text: string; max: number };
}): BenchRow {
  const row: BenchRow = {
    bench: fields.bench,
    name: fields.name,
    unit: fields.unit,
    value: fields.value,
    baseline: fields.baseline,
    ratio: fields.value / fields.baseline.value,
  };
  if (fields.target) {
    row.target = fields.target.text;
    row.pass = fields.value < fields.target.max;
  }
  return row;
}

/** A frozen-time tail row: p99 against its own p50, with issue 11's goal (p99 ≤ 1.5× p50). */
export function frozenTailRow(bench: string, name: string, frozen: { p50: number; p99: number }): BenchRow {
  return {
    bench,
    name,
    unit: 'ms',
    value: frozen.p99,
    baseline: { name: 'its p50', value: frozen.p50 },
    ratio: frozen.p99 / frozen.p50,
    target: 'p99 ≤ 1.5× p50',
    pass: frozen.p99 <= 1.5 * frozen.p50,
  };
}

// Rounds to 3 significant digits for display.
function num(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

// Renders rows as an aligned plain-text table.
export function formatTable(rows: readonly BenchRow[]): string {
  const header = ['bench', 'measurement', 'value', 'baseline (same run)', 'ratio', 'target'];
  const lines = rows.map((r) => [
    r.bench,
    r.name,
    `${num(r.value)} ${r.unit}`,
    r.baseline ? `${r.baseline.name}: ${num(r.baseline.value)} ${r.unit}` : '',
    r.ratio === undefined ? '' : `${num(r.ratio)}×`,
    r.target === undefined ? '' : `${r.target} ${r.pass ? 'ok' : 'MISSED'}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => at(l, i).length)));
  const fmt = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(at(widths, i)))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...lines.map(fmt)].join('\n');
}

// Renders rows as JSON (one document, for scripts and CI).
export function formatJson(rows: readonly BenchRow[]): string {
  return JSON.stringify({ node: process.version, rows }, null, 2);
}
