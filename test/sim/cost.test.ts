import { readFileSync } from 'node:fs';
import { median } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { checkpointCost, DEFAULT_COST, validateCost } from '../../src/sim/cost.js';
import { fixture } from './helpers.js';

// The default coefficients against the real full dumps they were fitted to (see src/sim/cost.ts).
describe('the cost model', () => {
  it('is affine in the pages written', () => {
    expect(checkpointCost(DEFAULT_COST, 0)).toEqual({ frozenUs: 4000, criuWallMs: 42 });
    expect(checkpointCost(DEFAULT_COST, 16_384)).toEqual({ frozenUs: Math.round(4000 + 1.65 * 16_384), criuWallMs: 42 + (1.7 * 16_384) / 1000 });
  });

  it.each(['full-1mib', 'full-16mib', 'full-64mib', 'full-256mib'])('defaults are within 20%% of the measured medians: %s', (name) => {
    const records = readFileSync(fixture(`${name}.records.jsonl`), 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { pages_written: number; frozen_us: number; criu_wall_ms: number; mode: string });
    expect(records.every((r) => r.mode === 'full')).toBe(true);
    const pages = median(records.map((r) => r.pages_written));
    const modelled = checkpointCost(DEFAULT_COST, pages);
    const frozen = median(records.map((r) => r.frozen_us));
    const wall = median(records.map((r) => r.criu_wall_ms));
    expect(modelled.frozenUs / frozen).toBeGreaterThan(0.8);
    expect(modelled.frozenUs / frozen).toBeLessThan(1.2);
    expect(modelled.criuWallMs / wall).toBeGreaterThan(0.8);
    expect(modelled.criuWallMs / wall).toBeLessThan(1.2);
  });

  it('refuses negative or non-finite coefficients', () => {
    expect(() => validateCost({ ...DEFAULT_COST, wallBaseMs: -1 })).toThrow(/wallBaseMs = -1/);
    expect(() => validateCost({ ...DEFAULT_COST, frozenPerPageUs: Number.NaN })).toThrow(RangeError);
  });
});
