import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitCost, predict, type CostSample } from '../../src/sim/fit.js';

const plane =
  (base: number, perScanned: number, perWritten: number) =>
  (scanned: number, written: number): CostSample => ({
    scanned,
    written,
    ms: base + (perScanned * scanned + perWritten * written) / 1000,
  });

describe('fitCost (least squares of a cost against pages scanned and written)', () => {
  it('recovers the coefficients of exact data on a plane, with R² 1', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 100, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        (base, a, b) => {
          const at = plane(base, a, b);
          const samples = [
            at(1000, 10),
            at(1000, 900),
            at(16_000, 200),
            at(64_000, 5000),
            at(32_000, 32_000),
            at(4000, 4000),
            at(8000, 100),
            at(2000, 1500),
          ];
          const fit = fitCost(samples);
          expect(fit.baseMs).toBeCloseTo(base, 6);
          expect(fit.perScannedPageUs).toBeCloseTo(a, 6);
          expect(fit.perWrittenPageUs).toBeCloseTo(b, 6);
          expect(fit.fit!.predictors).toEqual(['scanned', 'written']);
          expect(fit.fit!.residualP90Ms).toBeLessThan(1e-6);
          if (a + b > 0.01) expect(fit.fit!.r2).toBeCloseTo(1, 6);
          expect(fit.fit!.outliers).toBe(0);
        },
      ),
    );
  });

  it('folds a count that does not vary into the base (one delta run scans the same memory every time)', () => {
    const samples = [600, 750, 900, 0, 820, 700, 650, 0, 1000, 780, 640, 720, 910, 0, 860, 690, 655, 0, 990, 770].map(
      (written, i) => ({ scanned: i === 0 ? 7000 : 16_424, written, ms: 20 + (3 * written) / 1000 + (i % 2) * 0.5 }),
    );
    const fit = fitCost(samples);
    expect(fit.fit!.predictors).toEqual(['written']);
    expect(fit.perScannedPageUs).toBe(0);
    expect(fit.perWrittenPageUs).toBeCloseTo(3, 0);
  });

  it('with nothing varying, the fit is the median level and R² says nothing (null)', () => {
    // Skewed right as freezes are (34 is no stall: within 3 robust sd): the mean would be 29.4.
    const fit = fitCost([28, 30, 26, 29, 27, 34, 31, 30].map((ms) => ({ scanned: 16_424, written: 16_411, ms })));
    expect(fit).toMatchObject({ baseMs: 29.5, perScannedPageUs: 0, perWrittenPageUs: 0 });
    expect(fit.fit!.r2).toBeNull();
    expect(fit.fit!.predictors).toEqual([]);
  });

  it('keeps only written when scanned and written move together (mode full)', () => {
    const fit = fitCost(
      [283, 4122, 16_410, 65_561, 283, 4122, 16_410, 65_561].map((pages) => ({
        scanned: pages + 13,
        written: pages,
        ms: 4 + (1.66 * pages) / 1000,
      })),
    );
    expect(fit.fit!.predictors).toEqual(['written']);
    expect(fit.perWrittenPageUs).toBeCloseTo(1.66, 6);
  });

  it('leaves stalls out of the second fit and says how many, but not a run that is only noisy', () => {
    // Two memory sizes: a line, 4 ms + 1.5 µs per page written, with ±2 ms of noise.
    const calm = Array.from({ length: 40 }, (_, i) => {
      const written = i % 2 === 0 ? 4096 : 16_411;
      return { scanned: written + 13, written, ms: 4 + (1.5 * written) / 1000 + (i % 5) - 2 };
    });
    const stalled = [
      ...calm,
      { scanned: 16_424, written: 16_411, ms: 130 },
      { scanned: 16_424, written: 16_411, ms: 95 },
    ];
    const fit = fitCost(stalled);
    expect(fit.fit!.outliers).toBe(2);
    expect(fit.perWrittenPageUs).toBeCloseTo(1.5, 1);
    // The quality figures count the stalls: the model is honest about them.
    expect(fit.fit!.samples).toBe(42);
    // A 20 % slower checkpoint in a run of near-identical ones is not a stall.
    expect(fitCost([...calm, { scanned: 16_424, written: 16_411, ms: 33.6 }]).fit!.outliers).toBe(0);
  });

  it('a level is the median of every sample: the stalls do not move it, and none is left out', () => {
    const calm = Array.from({ length: 40 }, (_, i) => ({ scanned: 16_424, written: 16_411, ms: 28 + (i % 5) - 2 }));
    const fit = fitCost([
      ...calm,
      { scanned: 16_424, written: 16_411, ms: 130 },
      { scanned: 16_424, written: 16_411, ms: 95 },
    ]);
    expect(fit.baseMs).toBe(28);
    expect(fit.fit!.outliers).toBe(0);
    expect(fit.fit!.samples).toBe(42);
  });

  it('predict is the line itself, and an empty input is refused', () => {
    expect(predict({ baseMs: 1, perScannedPageUs: 2, perWrittenPageUs: 3 }, { scanned: 1000, written: 1000 })).toBe(6);
    expect(() => fitCost([])).toThrow(RangeError);
  });
});
