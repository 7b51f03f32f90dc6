// The numbers a simulation is judged by: the supervisor's own RunSummary, plus the share of run time the
// workload spent frozen.

import { summarize, type RunSummary } from '../loop/summary.js';
import type { Band } from '../model/policy.js';
import type { SimRecord } from './simulate.js';

/** summarize() over simulated runs, with the frozen-time share of the run time. */
export interface SimSummary extends RunSummary {
  /** Σ frozen time / Σ run time, over every run summarized. */
  frozenShare: number;
  /** Simulated runs pooled into this summary. */
  runs: number;
}

/** Summarizes the records of one or more runs of `runMs` each (undefined when there are none). */
export function summarizeSim(runs: readonly (readonly SimRecord[])[], band: Band, runMs: number): SimSummary | undefined {
  const pooled = runs.flat();
  const summary = summarize(pooled, band);
  if (summary === undefined) return undefined;
  const frozenMs = pooled.reduce((sum, r) => sum + r.frozen_us / 1000, 0);
  return { ...summary, frozenShare: frozenMs / (runMs * runs.length), runs: runs.length };
}
