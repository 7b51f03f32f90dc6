// Calibration: the cost model of each checkpoint mode fitted to the records of real runs (pure; the records
// are read by src/loop/record-reader.ts and the profile written by the CLI). For each mode found it fits
// frozen time and CRIU wall time against the pages CRIU scanned and wrote, and in mode delta the rewrite's
// time against the pages it hashed and wrote (fit.ts). What CRIU wrote is `criu_pages_written` in mode
// delta (CRIU dumps everything; `pages_written` is what the delta kept); a chain start's rewrite writes
// nothing (it keeps CRIU's full dump as it is). A mode with records of one memory size shares the CRIU fits of
// modes full and delta when both are given.

import type { ReadRecord } from '../loop/record-reader.js';
import type { CheckpointMode } from '../model/record.js';
import { ZERO_COST, type CostModel } from './cost.js';
import { fitCost, type CostSample } from './fit.js';

/** Records that cannot be calibrated on: the message names the record (file:line) and what is missing. */
export class CalibrationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CalibrationError';
  }
}

/** Fits one cost model per mode present in the records (real modes only: mode sim measures a model). */
export function calibrate(records: readonly ReadRecord[]): CostModel[] {
  const byMode = new Map<CheckpointMode, { frozen: CostSample[]; wall: CostSample[]; rewrite: CostSample[] }>();
  for (const r of records) {
    if (r.mode === 'sim')
      throw new CalibrationError(
        `${r.where}: a simulated record (mode sim) measures the cost model, not CRIU; calibrate on records of \`remusd run\``,
      );
    const need = <T>(value: T | undefined, field: string): T => {
      if (value === undefined)
        throw new CalibrationError(
          `${r.where}: ${field} (missing) is needed to calibrate; records of \`remusd run\` have it`,
        );
      return value;
    };
    const scanned = need(r.pagesScanned, 'pages_scanned');
    const criuWritten = r.mode === 'delta' ? need(r.criuPagesWritten, 'criu_pages_written') : r.pagesWritten;
    const samples = byMode.get(r.mode) ?? { frozen: [], wall: [], rewrite: [] };
    byMode.set(r.mode, samples);
    samples.frozen.push({ scanned, written: criuWritten, ms: need(r.frozenUs, 'frozen_us') / 1000 });
    samples.wall.push({ scanned, written: criuWritten, ms: need(r.criuWallMs, 'criu_wall_ms') });
    // The rewrite hashes every page CRIU wrote and writes the changed ones, unless it kept the dump whole.
    if (r.mode === 'delta')
      samples.rewrite.push({
        scanned: criuWritten,
        written: r.chainStart ? 0 : r.pagesWritten,
        ms: need(r.deltaMs, 'delta_ms'),
      });
  }
  if (byMode.size === 0) throw new CalibrationError('no records to calibrate on');
  // Modes full and delta run the same CRIU operation (`criu dump --leave-running` of everything): a mode whose
  // records cover one memory size only (a delta run of one workload) takes its CRIU fits from both modes'
  // records together, which full dumps of several sizes give a per-page slope. A mode with records of several
  // sizes is fitted on its own: with CRIU 4.2.1 a 64 MiB dump froze 18 % longer and a 256 MiB one 2.2× longer
  // in mode delta than in mode full (test/sim/fixtures/criu-4.2.1, same hour), so one line misfits both.
  const full = byMode.get('full');
  const delta = byMode.get('delta');
  const pooled =
    full !== undefined && delta !== undefined
      ? { frozen: [...full.frozen, ...delta.frozen], wall: [...full.wall, ...delta.wall] }
      : undefined;
  return [...byMode.entries()].map(([mode, s]) => {
    const criu = pooled !== undefined && (mode === 'full' || mode === 'delta') && oneSize(s.frozen) ? pooled : s;
    return {
      mode,
      frozen: fitCost(criu.frozen),
      criuWall: fitCost(criu.wall),
      rewrite: s.rewrite.length > 0 ? fitCost(s.rewrite) : { ...ZERO_COST },
    };
  });
}

/** Whether samples cover one memory size only: the most pages scanned less than 1.5× the fewest. */
function oneSize(samples: readonly CostSample[]): boolean {
  const scanned = samples.map((sample) => sample.scanned);
  return Math.max(...scanned) < 1.5 * Math.min(...scanned);
}
