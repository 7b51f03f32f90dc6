// Shared fixtures for the policy tests: a band, observation builders and a loop that replays a workload.

import type { Band, Decision, Observation, Policy } from '../../src/model/policy.js';

export const KiB = 2 ** 10;
export const MiB = 2 ** 20;
export const PAGE = 4096;

/** The demo band: 1..8 MiB, 100 ms..5 s. */
export const BAND: Band = { lminBytes: 1 * MiB, lmaxBytes: 8 * MiB, minMs: 100, maxMs: 5000 };

/** An observation of `sizeBytes` after `intervalMs` (elapsed = interval, pages = size / page). */
export function observation(intervalMs: number, sizeBytes: number, extra: Partial<Observation> = {}): Observation {
  return {
    seq: 1,
    intervalMs,
    elapsedMs: intervalMs,
    sizeBytes,
    pagesWritten: Math.round(sizeBytes / PAGE),
    frozenUs: 1000,
    pageSize: PAGE,
    ...extra,
  };
}

/** Pages a synthetic workload dirties in t ms. */
export type Workload = (elapsedMs: number) => number;

/** A workload dirtying `pagesPerSecond` with no limit. */
export const linear =
  (pagesPerSecond: number): Workload =>
  (t) =>
    Math.round((pagesPerSecond * t) / 1000);

/** A workload dirtying `pagesPerSecond` until its working set of `workingSetPages` is all dirty. */
export const saturating =
  (pagesPerSecond: number, workingSetPages: number): Workload =>
  (t) =>
    Math.min(Math.round((pagesPerSecond * t) / 1000), workingSetPages);

/** Runs a policy against a workload for `steps` checkpoints; `perturb` may replace an observation. */
export function replay<S>(
  policy: Policy<S>,
  workload: Workload,
  options: {
    band?: Band;
    startMs: number;
    steps: number;
    perturb?: (o: Observation, i: number) => Observation;
    state?: S;
  },
): { intervals: number[]; decisions: Decision[]; state: S } {
  const band = options.band ?? BAND;
  let state = options.state ?? policy.initialState();
  let interval = options.startMs;
  const intervals = [interval];
  const decisions: Decision[] = [];
  for (let i = 0; i < options.steps; i++) {
    const pages = workload(interval);
    let o = observation(interval, pages * PAGE, { seq: i + 1, pagesWritten: pages });
    if (options.perturb) o = options.perturb(o, i);
    const out = policy.decide(state, o, band);
    state = out.state;
    decisions.push(out.decision);
    interval = out.decision.nextIntervalMs;
    intervals.push(interval);
  }
  return { intervals, decisions, state };
}

/** A seeded pseudo-random source in [0, 1) (mulberry32), so noisy workloads repeat exactly. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The workload with each page count multiplied by a factor drawn uniformly from [1 − spread, 1 + spread]. */
export function noisy(workload: Workload, spread: number, seed = 1): Workload {
  const random = seeded(seed);
  return (t) => Math.round(workload(t) * (1 - spread + 2 * spread * random()));
}
