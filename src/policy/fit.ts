// Estimates how fast a workload dirties pages, and where that stops: the model behind the predictive policy.

import { median } from 'simple-statistics';

/** One usable observation: how long the workload ran and how many pages the checkpoint then wrote. */
export interface Sample {
  elapsedMs: number;
  pages: number;
}

/** pages(t) = min(ratePerMs · t, capPages): linear until the working set is all dirty, flat after. */
export interface DirtyModel {
  /** Pages dirtied per ms while below the working set. */
  ratePerMs: number;
  /** The working set where dirtying saturates; null when the observations show no saturation. */
  capPages: number | null;
  /** Observations the model puts on the plateau (0 without a cap). */
  plateauCount: number;
  /** Observations the fit used. */
  samples: number;
  /** Median relative error of the model over the observations (0.05 = 5 %). */
  medianError: number;
}

/** A model, or why the observations do not support one (a phrase: "only 2 observations"). */
export type FitResult = { ok: true; model: DirtyModel } | { ok: false; why: string };

/** Tuning of the fit. */
export interface FitOptions {
  /** The fit is poor when the median observation is further than this (relative) from the model. */
  maxFitError: number;
}

/** Fewer observations than this give no fit. */
export const MIN_SAMPLES = 3;
/** Observations whose longest and shortest elapsed times are within this ratio count as one interval. */
export const SAME_INTERVAL_RATIO = 1.1;
/** A saturating model must more than halve the linear model's total error to be preferred. */
export const SATURATION_GAIN = 0.5;

/** Pages the model predicts after elapsedMs of running. */
export function predictPages(model: DirtyModel, elapsedMs: number): number {
  const linear = model.ratePerMs * elapsedMs;
  return model.capPages === null ? linear : Math.min(linear, model.capPages);
}

/**
 * Fits pages(t) = min(r·t, W) to the samples, robustly:
 * - error of one sample: |ln((predicted + 1) / (observed + 1))| (relative, symmetric, fine with 0 pages);
 * - linear model: r = median of the per-sample rates pages/t, the least-absolute-log-error fit through the
 *   origin (a workload that runs for no time dirties nothing), so one outlier cannot move it;
 * - saturating model: the (r, W) pair, r from the per-sample rates and W from the observed page counts, with
 *   the least total error (an exact search: the absolute-error optimum lies at data values). It is accepted
 *   only with evidence: at least two samples on the plateau, the longest one at least (1 + maxFitError)
 *   times past the knee (pages did not grow in proportion to time), and less than SATURATION_GAIN times
 *   the linear model's total error;
 * - the fit is poor, and refused, when the median sample error exceeds ln(1 + maxFitError).
 */
export function fitDirtyModel(samples: readonly Sample[], options: FitOptions): FitResult {
  const n = samples.length;
  if (n < MIN_SAMPLES) return { ok: false, why: `only ${n} observation${n === 1 ? '' : 's'}` };
  const times = samples.map((s) => s.elapsedMs);
  const shortest = Math.min(...times);
  const longest = Math.max(...times);
  if (longest < shortest * SAME_INTERVAL_RATIO) {
    const typical = Math.round(median(times));
    return { ok: false, why: `all ${n} observations at the same interval (≈ ${typical} ms), no slope` };
  }

  const rates = samples.map((s) => s.pages / s.elapsedMs);
  const linear: DirtyModel = { ratePerMs: median(rates), capPages: null, plateauCount: 0, samples: n, medianError: 0 };
  const linearErrors = errorsOf(linear, samples);
  let best = { model: linear, errors: linearErrors, total: sum(linearErrors) };

  const tolerance = Math.log1p(options.maxFitError);
  const sortedRates = [...new Set(rates)].sort((a, b) => a - b);
  const caps = [...new Set(samples.map((s) => s.pages))].filter((w) => w > 0);
  let bestSaturated: typeof best | null = null;
  for (const cap of caps) {
    for (const rate of sortedRates) {
      if (rate <= 0) continue;
      const plateau = samples.filter((s) => rate * s.elapsedMs >= cap);
      if (plateau.length < 2) continue;
      const furthest = Math.max(...plateau.map((s) => s.elapsedMs));
      if (Math.log((rate * furthest) / cap) < tolerance) continue;
      const model: DirtyModel = {
        ratePerMs: rate,
        capPages: cap,
        plateauCount: plateau.length,
        samples: n,
        medianError: 0,
      };
      const errors = errorsOf(model, samples);
      const total = sum(errors);
      if (bestSaturated === null || total < bestSaturated.total) bestSaturated = { model, errors, total };
    }
  }
  if (bestSaturated !== null && bestSaturated.total < SATURATION_GAIN * best.total) best = bestSaturated;

  const medianLogError = median(best.errors);
  const medianError = Math.expm1(medianLogError);
  if (medianLogError > tolerance) {
    return {
      ok: false,
      why: `poor fit from ${n} observations (median error ${percent(medianError)} > ${percent(options.maxFitError)})`,
    };
  }
  return { ok: true, model: { ...best.model, medianError } };
}

function errorsOf(model: DirtyModel, samples: readonly Sample[]): number[] {
  return samples.map((s) => Math.abs(Math.log((predictPages(model, s.elapsedMs) + 1) / (s.pages + 1))));
}

function sum(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function percent(fraction: number): string {
  return `${Math.round(fraction * 100)} %`;
}
