import { describe, expect, it } from 'vitest';
import { fitDirtyModel, predictPages, type Sample } from '../../src/policy/fit.js';

const opts = { maxFitError: 0.3 };
const samples = (times: number[], pages: (t: number) => number): Sample[] =>
  times.map((t) => ({ elapsedMs: t, pages: pages(t) }));

describe('fitDirtyModel', () => {
  it('recovers the rate of a linear workload, with no cap', () => {
    const fit = fitDirtyModel(samples([100, 200, 400, 800], (t) => 3 * t), opts);
    expect(fit).toMatchObject({ ok: true, model: { ratePerMs: 3, capPages: null, samples: 4, medianError: 0 } });
  });

  it('finds the working set of a saturating workload', () => {
    const fit = fitDirtyModel(samples([100, 200, 400, 800, 1600], (t) => Math.min(3 * t, 1000)), opts);
    expect(fit).toMatchObject({ ok: true, model: { ratePerMs: 3, capPages: 1000, plateauCount: 3 } });
    if (fit.ok) expect(predictPages(fit.model, 5000)).toBe(1000);
  });

  it('bounds the rate from below when every observation is on the plateau', () => {
    const fit = fitDirtyModel(samples([1250, 2500, 5000], () => 5000), opts);
    expect(fit).toMatchObject({ ok: true, model: { ratePerMs: 4, capPages: 5000, plateauCount: 3 } });
  });

  it('does not call a plateau from two points that are only a little low', () => {
    const data = samples([100, 200, 400, 800, 800], (t) => 3 * t);
    data[3]!.pages = 2200; // 8 % low
    data[4]!.pages = 2250;
    const fit = fitDirtyModel(data, opts);
    expect(fit.ok && fit.model.capPages).toBe(null);
  });

  it('ignores one outlier, high or low', () => {
    const high = samples([100, 150, 200, 300, 400, 600, 800, 1200], (t) => 3 * t);
    high[4]!.pages *= 10;
    expect(fitDirtyModel(high, opts)).toMatchObject({ ok: true, model: { ratePerMs: 3, capPages: null } });
    const low = samples([100, 150, 200, 300, 400, 600, 800, 1200], (t) => 3 * t);
    low[7]!.pages = 10;
    expect(fitDirtyModel(low, opts)).toMatchObject({ ok: true, model: { ratePerMs: 3, capPages: null } });
  });

  it('refuses too few observations, one interval, and a poor fit', () => {
    expect(fitDirtyModel(samples([100, 200], (t) => t), opts)).toEqual({ ok: false, why: 'only 2 observations' });
    expect(fitDirtyModel(samples([200, 205, 210], (t) => t), opts)).toEqual({
      ok: false,
      why: 'all 3 observations at the same interval (≈ 205 ms), no slope',
    });
    // Rates alternating ×5 apart: no single rate describes this workload.
    const bursty = samples([100, 200, 300, 400, 500, 600], (t) => (t % 200 === 0 ? 5 * t : t));
    const fit = fitDirtyModel(bursty, opts);
    expect(fit.ok).toBe(false);
    if (!fit.ok) expect(fit.why).toMatch(/^poor fit from 6 observations \(median error \d+ % > 30 %\)$/);
  });

  it('handles zero pages', () => {
    const fit = fitDirtyModel(samples([100, 200, 400], () => 0), opts);
    expect(fit).toMatchObject({ ok: true, model: { ratePerMs: 0, capPages: null } });
  });
});
