import { readFileSync } from 'node:fs';
import { median } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { checkpointCost, linearMs, validateCost } from '../../src/sim/cost.js';
import { join } from 'node:path';
import { readRecords } from '../../src/loop/record-reader.js';
import { packageRoot } from '../../src/paths.js';
import { calibrate } from '../../src/sim/calibrate.js';
import { costProfileJson } from '../../src/sim/cost-profile.js';
import { DEFAULT_COST, DEFAULT_COST_PROFILE, DEFAULT_COST_PROFILE_FILE } from '../../src/sim/default-cost.js';
import { constantCost } from './helpers.js';

const lines = (file: string) =>
  readFileSync(join(packageRoot(), file), 'utf8')
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          pages_scanned: number;
          pages_written: number;
          criu_pages_written?: number;
          frozen_us: number;
          criu_wall_ms: number;
          mode: string;
        },
    );

describe('the cost model', () => {
  it('is affine in the pages scanned and written, and never negative', () => {
    const cost = { baseMs: 2, perScannedPageUs: 1, perWrittenPageUs: 3 };
    expect(linearMs(cost, 1000, 100)).toBeCloseTo(2 + 1 + 0.3, 9);
    expect(linearMs({ ...cost, baseMs: -50 }, 0, 0)).toBe(0);
  });

  it('charges the rewrite in mode delta only', () => {
    const delta = constantCost(30, 60, 20);
    expect(checkpointCost(delta, { scanned: 16_384, criuWritten: 16_384, rewritten: 700 })).toEqual({
      frozenUs: 30_000,
      criuWallMs: 60,
      rewriteMs: 20,
    });
    expect(
      checkpointCost({ ...delta, mode: 'full' }, { scanned: 16_384, criuWritten: 16_384, rewritten: 0 }).rewriteMs,
    ).toBe(0);
  });

  it('says where and when the default profile was measured', () => {
    expect(DEFAULT_COST_PROFILE.measured.host).toMatch(/this project's machine/);
    expect(DEFAULT_COST_PROFILE.measured.at).toMatch(/^2026-12-02T/);
    expect(DEFAULT_COST_PROFILE.measured.criu).toBe('4.2.1');
    expect(DEFAULT_COST_PROFILE.measured.records.length).toBeGreaterThan(0);
    expect(Object.keys(DEFAULT_COST_PROFILE.modes).sort()).toEqual(['delta', 'full']);
  });

  it('is what `remusd calibrate` fits to the records it names, not numbers edited by hand', async () => {
    const records = (
      await Promise.all(DEFAULT_COST_PROFILE.measured.records.map((file) => readRecords(join(packageRoot(), file))))
    ).flat();
    const fitted = Object.fromEntries(calibrate(records).map((model) => [model.mode, model]));
    // The file keeps 4 decimals (cost-profile.ts); the fits are compared at that precision.
    expect(JSON.parse(JSON.stringify(costProfileJson({ ...DEFAULT_COST_PROFILE, modes: fitted })))).toEqual(
      JSON.parse(readFileSync(DEFAULT_COST_PROFILE_FILE, 'utf8')),
    );
  });

  // The default profile against the real runs it was fitted to.
  it.each(DEFAULT_COST_PROFILE.measured.records)('predicts the measured medians: %s', (file) => {
    const records = lines(file);
    const model = DEFAULT_COST_PROFILE.modes[records[0]!.mode as 'full' | 'delta']!;
    const scanned = median(records.map((r) => r.pages_scanned));
    const written = median(records.map((r) => r.criu_pages_written ?? r.pages_written));
    const modelled = checkpointCost(model, { scanned, criuWritten: written, rewritten: 0 });
    const frozenMs = median(records.map((r) => r.frozen_us)) / 1000;
    const wallMs = median(records.map((r) => r.criu_wall_ms));
    // 1 MiB dumps freeze for ~12 ms, where the fixed cost is most of it: the line is within 4 ms there. The
    // rest within the 25 %: measured on the otherwise idle machine, every run's median is within 16 % of
    // its mode's line (full at 64 MiB: 54.4 ms against 47.1; delta at 64 MiB: 44.5 against 44.2). At load 9 the
    // delta line was 36 % over its 64 MiB run (commit 99de310).
    expect(Math.abs(modelled.frozenUs / 1000 - frozenMs)).toBeLessThan(Math.max(4, 0.25 * frozenMs));
    expect(modelled.criuWallMs / wallMs).toBeGreaterThan(0.8);
    expect(modelled.criuWallMs / wallMs).toBeLessThan(1.2);
  });

  it('freezes a 64 MiB workload in mode delta for a whole dump, not for the pages the delta keeps', () => {
    const dump64 = checkpointCost(DEFAULT_COST, { scanned: 16_424, criuWritten: 16_411, rewritten: 700 });
    const kept = checkpointCost(DEFAULT_COST, { scanned: 700, criuWritten: 700, rewritten: 700 });
    expect(dump64.frozenUs / 1000).toBeGreaterThan(20);
    expect(dump64.frozenUs).toBeGreaterThan(2 * kept.frozenUs);
    // The difference is the per-page cost of every page CRIU wrote, not only of those the delta keeps.
    const perPageUs = DEFAULT_COST.frozen.perWrittenPageUs;
    expect((dump64.frozenUs - kept.frozenUs) / ((16_411 - 700) * perPageUs)).toBeCloseTo(1, 1);
  });

  it('refuses non-finite coefficients', () => {
    expect(() =>
      validateCost({ ...DEFAULT_COST, criuWall: { ...DEFAULT_COST.criuWall, baseMs: Number.POSITIVE_INFINITY } }),
    ).toThrow(/delta criuWall.baseMs = Infinity/);
    expect(() =>
      validateCost({ ...DEFAULT_COST, frozen: { ...DEFAULT_COST.frozen, perWrittenPageUs: Number.NaN } }),
    ).toThrow(RangeError);
  });
});
