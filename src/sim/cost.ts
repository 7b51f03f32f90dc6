// What a checkpoint costs, per checkpoint mode, as affine functions of the pages CRIU scans and writes:
//
//   frozen time = base + perScanned · pages scanned + perWritten · pages CRIU wrote     (the workload stops)
//   CRIU wall   = base + perScanned · pages scanned + perWritten · pages CRIU wrote     (CRIU runs)
//   rewrite     = base + perScanned · pages hashed  + perWritten · pages the rewrite wrote (mode delta only,
//                 after CRIU: the workload runs again, but the next checkpoint waits for it)
//
// What CRIU scans and writes depends on the mode, and this is what the simulator charges for
// (model-checkpointer.ts):
//
//   mode      scanned   CRIU writes                      stored                    rewrite writes
//   full      memory    memory                           memory                    —
//   delta     memory    memory (a full dump, every time) dirty (chain start: all)  dirty (chain start: 0)
//   dump      memory    dirty (chain start: memory)      what CRIU wrote           —
//   pre-dump  memory    dirty (chain start: memory)      what CRIU wrote           —
//
// In mode delta CRIU freezes the workload for a whole dump whatever the delta keeps: the frozen time of a
// 64 MiB workload is that of a 64 MiB dump (~25–30 ms idle here), not of the ~3 MiB stored.
// The coefficients come from `remusd calibrate` (src/sim/calibrate.ts), which fits them to records of real
// runs; the default profile (default-cost.ts) was measured on this machine and says where and when.

import type { CheckpointMode } from '../model/record.js';

/** One affine cost: baseMs + perScannedPageUs·scanned/1000 + perWrittenPageUs·written/1000, in ms. */
export interface LinearCost {
  baseMs: number;
  perScannedPageUs: number;
  perWrittenPageUs: number;
}

/** How a fit did on the records it was fitted to (kept with the coefficients, for people). */
export interface FitQuality {
  samples: number;
  /** Coefficient of determination; null when the measured values do not vary (nothing to explain). */
  r2: number | null;
  /** Absolute residuals, ms. */
  residualP50Ms: number;
  residualP90Ms: number;
  /** Samples left out as stalls (relative residual over 3 robust standard deviations above the first fit). */
  outliers: number;
  /** Which page counts the fit could tell apart (a count that never varied is folded into the base). */
  predictors: ('scanned' | 'written')[];
}

/** A cost with how well it fitted, when it was fitted. */
export interface FittedCost extends LinearCost {
  fit?: FitQuality | undefined;
}

/** The cost model of one checkpoint mode. */
export interface CostModel {
  mode: CheckpointMode;
  frozen: FittedCost;
  criuWall: FittedCost;
  /** The delta rewrite (mode delta); zero in the other modes. */
  rewrite: FittedCost;
}

/** Where and when a profile was measured. */
export interface Provenance {
  host: string;
  kernel: string;
  criu: string;
  /** ISO-8601 time of the calibration. */
  at: string;
  /** The records files it was fitted to. */
  records: string[];
  note: string;
}

/** A cost profile: the cost model of each mode measured, and where it comes from. */
export interface CostProfile {
  measured: Provenance;
  modes: Partial<Record<CheckpointMode, CostModel>>;
}

/** What one checkpoint does, in pages. */
export interface CheckpointWork {
  /** Pages CRIU scanned (the process's memory). */
  scanned: number;
  /** Pages CRIU wrote. */
  criuWritten: number;
  /** Mode delta: pages the rewrite wrote (0 when it kept CRIU's dump as is, as at a chain start). */
  rewritten: number;
}

/** What one checkpoint costs. */
export interface CheckpointCost {
  /** Workload frozen, µs (whole, as CRIU reports it). */
  frozenUs: number;
  /** CRIU's wall time, ms. */
  criuWallMs: number;
  /** The delta rewrite, ms (0 outside mode delta). */
  rewriteMs: number;
}

/** A linear cost at (scanned, written) pages, ms; never negative (a fit's intercept can be). */
export function linearMs(cost: LinearCost, scanned: number, written: number): number {
  return Math.max(0, cost.baseMs + (cost.perScannedPageUs * scanned + cost.perWrittenPageUs * written) / 1000);
}

/** The modelled cost of one checkpoint. */
export function checkpointCost(model: CostModel, work: CheckpointWork): CheckpointCost {
  return costInto({ frozenUs: 0, criuWallMs: 0, rewriteMs: 0 }, model, work.scanned, work.criuWritten, work.rewritten);
}

/**
 * checkpointCost written into `out` (returned), for the simulator's checkpointer, which rewrites one object per
 * checkpoint instead of allocating two.
 */
export function costInto(
  out: CheckpointCost,
  model: CostModel,
  scanned: number,
  criuWritten: number,
  rewritten: number,
): CheckpointCost {
  criuCostInto(out, model, scanned, criuWritten);
  out.rewriteMs = rewriteCostMs(model, scanned, rewritten);
  return out;
}

/** costInto's frozen and CRIU wall times alone: they depend on the pages scanned and CRIU wrote, nothing else. */
export function criuCostInto(out: CheckpointCost, model: CostModel, scanned: number, criuWritten: number): void {
  out.frozenUs = Math.round(linearMs(model.frozen, scanned, criuWritten) * 1000);
  out.criuWallMs = linearMs(model.criuWall, scanned, criuWritten);
}

/** costInto's rewrite time alone (0 outside mode delta). */
export function rewriteCostMs(model: CostModel, scanned: number, rewritten: number): number {
  return model.mode === 'delta' ? linearMs(model.rewrite, scanned, rewritten) : 0;
}

/** A cost that is always zero. */
export const ZERO_COST: Readonly<LinearCost> = Object.freeze({ baseMs: 0, perScannedPageUs: 0, perWrittenPageUs: 0 });

/** Throws a RangeError for a non-finite coefficient, or a model that could charge a negative time at 0 pages. */
export function validateCost(model: CostModel): CostModel {
  for (const part of ['frozen', 'criuWall', 'rewrite'] as const) {
    for (const key of ['baseMs', 'perScannedPageUs', 'perWrittenPageUs'] as const) {
      const value = model[part][key];
      if (!Number.isFinite(value))
        throw new RangeError(`cost ${model.mode} ${part}.${key} = ${value} must be a finite number`);
    }
  }
  return model;
}
