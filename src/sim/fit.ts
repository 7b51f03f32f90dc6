// Least-squares fit of one checkpoint cost (ms) against the pages scanned and written: y ≈ base +
// perScanned·scanned + perWritten·written; with neither varying, the median level. Pure; the numbers come
// from records (calibrate.ts).
//
// Which page counts enter the fit depends on the data: a count whose middle 90 % (p5 to p95) spans less
// than 10 % of its median cannot be told from the base (a delta run scans the same 16,424 pages every time,
// apart from its very first dump) and is folded into it, and when scanned and written move together (mode
// full, where CRIU writes all it scans) only written is kept.
// Outliers: this machine at load 15 froze a 64 MiB dump for 75–840 ms (median 175 ms, mean 220 ms), so a
// plain least-squares line is pulled by a few stalls. The fit is made again without the stalls, the
// samples whose relative residual (residual / fitted value) lies more than 3 robust standard deviations
// (1.4826 × MAD, at least 0.1) above the median one, until that set stops changing (three rounds at most). Relative, because a 256 MiB dump
// varies by more milliseconds than a 1 MiB one; above only, because load makes checkpoints slower, never
// faster; at least 0.1, so that a run of near-identical checkpoints does not call a 20 % slower one a
// stall. The quality figures are over every sample, stalls included, and say how many were left out.

import {
  linearRegression,
  mean,
  median,
  medianAbsoluteDeviation,
  quantile,
  sampleCorrelation,
} from 'simple-statistics';
import type { FitQuality, FittedCost } from './cost.js';

/** One measured checkpoint: its page counts and the cost measured, ms. */
export interface CostSample {
  scanned: number;
  written: number;
  ms: number;
}

type Predictor = 'scanned' | 'written';

/** Fits a cost to samples (at least one); see the file's comment. */
export function fitCost(samples: readonly CostSample[]): FittedCost {
  if (samples.length === 0) throw new RangeError('a fit needs at least one sample');
  const predictors = predictorsOf(samples);
  let used = predictors;
  let cost = solve(samples, used);
  let outliers = 0;
  // Up to three rounds: the first line is pulled by the stalls themselves, so which ones stand out is asked
  // again of the line fitted without them. A level (nothing varies) is the median of every sample: robust to
  // stalls already, and leaving out the high ones only would pull it under the run's median (−7 to −8 % in a
  // calibration-real run).
  for (let round = 0; round < 3 && samples.length >= 8 && predictors.length > 0; round++) {
    // Relative to the fitted value, or to the median cost where the line is below it: a 1 MiB dump 4 ms off
    // a 1.3 ms line is no stall.
    const floor = Math.max(1e-6, median(samples.map((s) => Math.abs(s.ms))));
    const fitted = cost;
    const relativeOf = (s: CostSample) => (s.ms - predict(fitted, s)) / Math.max(predict(fitted, s), floor);
    const relative = samples.map(relativeOf);
    const centre = median(relative);
    const sigma = Math.max(0.1, 1.4826 * medianAbsoluteDeviation(relative));
    const kept = samples.filter((s) => relativeOf(s) - centre <= 3 * sigma);
    if (kept.length === samples.length - outliers || kept.length < 2) break;
    outliers = samples.length - kept.length;
    used = predictorsOf(kept).filter((p) => predictors.includes(p));
    cost = solve(kept, used);
  }
  return { ...cost, fit: quality(samples, cost, used, outliers) };
}

/** The fitted cost at a sample's page counts, ms (unclamped: residuals are measured against the line). */
export function predict(
  cost: { baseMs: number; perScannedPageUs: number; perWrittenPageUs: number },
  s: { scanned: number; written: number },
): number {
  return cost.baseMs + (cost.perScannedPageUs * s.scanned + cost.perWrittenPageUs * s.written) / 1000;
}

// The page counts that vary enough to be fitted; written wins when the two move together.
function predictorsOf(samples: readonly CostSample[]): Predictor[] {
  const varies = (key: Predictor) => {
    const xs = samples.map((s) => s[key]);
    return quantile(xs, 0.95) - quantile(xs, 0.05) >= 0.1 * Math.max(1, Math.abs(median(xs)));
  };
  const chosen = (['scanned', 'written'] as const).filter(varies);
  if (chosen.length === 2) {
    const r = sampleCorrelation(
      samples.map((s) => s.scanned),
      samples.map((s) => s.written),
    );
    if (!Number.isFinite(r) || Math.abs(r) > 0.99) return ['written'];
  }
  return chosen;
}

// Ordinary least squares on the chosen predictors (page counts in thousands, so slopes come out in µs/page).
function solve(
  samples: readonly CostSample[],
  predictors: readonly Predictor[],
): { baseMs: number; perScannedPageUs: number; perWrittenPageUs: number } {
  const ys = samples.map((s) => s.ms);
  const [key, second] = predictors;
  // A level is the median, not the mean: what the simulator charges every checkpoint is compared with a
  // run's median, and a freeze's time is skewed right even without its stalls (16 delta runs of 60
  // checkpoints at load 4–9: the mean of the non-stalls 1.03–1.23× the median, so every replay froze longer
  // than its run).
  if (key === undefined) return { baseMs: median(ys), perScannedPageUs: 0, perWrittenPageUs: 0 };
  if (second === undefined) {
    const { m, b } = linearRegression(samples.map((s) => [s[key] / 1000, s.ms]));
    return { baseMs: b, perScannedPageUs: key === 'scanned' ? m : 0, perWrittenPageUs: key === 'written' ? m : 0 };
  }
  // Two predictors: the normal equations of the centred data, a 2×2 system.
  const x1 = samples.map((s) => s.scanned / 1000);
  const x2 = samples.map((s) => s.written / 1000);
  const [m1, m2, my] = [mean(x1), mean(x2), mean(ys)];
  let s11 = 0;
  let s12 = 0;
  let s22 = 0;
  let s1y = 0;
  let s2y = 0;
  for (const s of samples) {
    const [a, b, y] = [s.scanned / 1000 - m1, s.written / 1000 - m2, s.ms - my];
    s11 += a * a;
    s12 += a * b;
    s22 += b * b;
    s1y += a * y;
    s2y += b * y;
  }
  const det = s11 * s22 - s12 * s12;
  if (!(Math.abs(det) > 1e-12 * s11 * s22)) return solve(samples, ['written']);
  const b1 = (s1y * s22 - s2y * s12) / det;
  const b2 = (s2y * s11 - s1y * s12) / det;
  return { baseMs: my - b1 * m1 - b2 * m2, perScannedPageUs: b1, perWrittenPageUs: b2 };
}

function quality(
  samples: readonly CostSample[],
  cost: FittedCost,
  predictors: Predictor[],
  outliers: number,
): FitQuality {
  const residuals = samples.map((s) => s.ms - predict(cost, s));
  const absolute = residuals.map(Math.abs);
  const my = mean(samples.map((s) => s.ms));
  const total = samples.reduce((sum, s) => sum + (s.ms - my) ** 2, 0);
  const unexplained = residuals.reduce((sum, r) => sum + r * r, 0);
  return {
    samples: samples.length,
    // With no predictor the fit is a level: R² says nothing about it.
    r2: predictors.length === 0 || total === 0 ? null : 1 - unexplained / total,
    residualP50Ms: quantile(absolute, 0.5),
    residualP90Ms: quantile(absolute, 0.9),
    outliers,
    predictors,
  };
}
