// Shared fixtures for the simulation tests: the demo band, cost models and workload builders.

import fc from 'fast-check';
import { join } from 'node:path';
import type { Band } from '../../src/model/policy.js';
import { packageRoot } from '../../src/paths.js';
import { ZERO_COST, type CostModel } from '../../src/sim/cost.js';
import { scheduleOfPhases } from '../../src/sim/rate.js';
import { createWorkload, type Workload, type WorkloadSpec } from '../../src/sim/workload.js';

export const MiB = 2 ** 20;
export const PAGE = 4096;

/** The demo config's band: 1..8 MiB, 200 ms..5 s. */
export const BAND: Band = { lminBytes: 1 * MiB, lmaxBytes: 8 * MiB, minMs: 200, maxMs: 5000 };

/** A checkpoint that costs nothing: scheduling is exactly the policy's. */
export const FREE: CostModel = { mode: 'delta', frozen: ZERO_COST, criuWall: ZERO_COST, rewrite: ZERO_COST };

/** A cost model of constant times, ms: frozen, CRIU wall, and (mode delta) the rewrite. */
export function constantCost(frozenMs: number, wallMs: number, rewriteMs = 0): CostModel {
  const level = (baseMs: number) => ({ baseMs, perScannedPageUs: 0, perWrittenPageUs: 0 });
  return { mode: 'delta', frozen: level(frozenMs), criuWall: level(wallMs), rewrite: level(rewriteMs) };
}

/** A workload of phases [pages/s, seconds], cycling, with optional extras. */
export function phased(phases: [number, number][], extra: Omit<WorkloadSpec, 'schedule'> = {}): Workload {
  return createWorkload({
    schedule: scheduleOfPhases(
      phases.map(([pagesPerSecond, s]) => ({ pagesPerSecond, durationMs: s * 1000 })),
      true,
    ),
    ...extra,
  });
}

/** A file in test/sim/fixtures. */
export function fixture(name: string): string {
  return join(packageRoot(), 'test', 'sim', 'fixtures', name);
}

// Rates whose target interval (issue 11's band: [1, 4] MiB, [200 ms, 8 s]) lies in [min, max] with a margin
// of ×1.25 at the short end and ×2 at the long one (a phase must hold a few checkpoints): 128..2048 pages/s,
// target intervals 4 s..250 ms.
export const REACHABLE = { min: 128, max: 2048 };

// A piecewise-constant rate stepping ×10 up or down (staying reachable), each phase 20..60 s long (≥ 5
// target intervals at the slowest rate).
export const tenfoldStepsArb = fc
  .record({
    start: fc.double({ min: Math.log(REACHABLE.min), max: Math.log(REACHABLE.max), noNaN: true }),
    moves: fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 20, max: 60 })), { minLength: 2, maxLength: 6 }),
    firstSeconds: fc.integer({ min: 20, max: 60 }),
  })
  .map(({ start, moves, firstSeconds }) => {
    let rate = Math.exp(start);
    const phases: [number, number][] = [[rate, firstSeconds]];
    for (const [up, seconds] of moves) {
      // A step that would leave the reachable range goes the other way.
      const wantUp = up ? rate * 10 <= REACHABLE.max : rate / 10 < REACHABLE.min;
      rate = wantUp ? rate * 10 : rate / 10;
      phases.push([rate, seconds]);
    }
    return phases;
  })
  .filter((phases) => phases.every(([rate]) => rate >= REACHABLE.min && rate <= REACHABLE.max));
