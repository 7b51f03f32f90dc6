// Shared fixtures for the simulation tests: the demo band, cost models and workload builders.

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
