import { describe, expect, it } from 'vitest';
import { POLICY_KINDS, resolvePolicySpec, type PolicySpec } from '../../src/policy/index.js';
import { comparePolicies, type ComparisonInput } from '../../src/sim/compare.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { simulate } from '../../src/sim/simulate.js';
import { summarizeSim } from '../../src/sim/summary.js';
import { BAND, PAGE, phased } from './helpers.js';

const policies = POLICY_KINDS.map((kind) => resolvePolicySpec({ kind } as PolicySpec));
const input: ComparisonInput = {
  policies,
  seeds: [1, 2, 3],
  workloadFor: (seed) =>
    phased(
      [
        [8000, 10],
        [200, 10],
        [1500, 10],
      ],
      { workingSetPages: 16384, noise: 0.2, seed },
    ),
  band: BAND,
  initialIntervalMs: 500,
  cost: DEFAULT_COST,
  durationMs: 30_000,
  pageSize: PAGE,
};

describe('comparePolicies', async () => {
  const rows = await comparePolicies(input);

  it('runs every policy, in order, over every seed', () => {
    expect(rows.map((r) => r.policy.kind)).toEqual([...POLICY_KINDS]);
    for (const row of rows) expect(row.summary?.runs).toBe(3);
  });

  it('each summary is what simulating that policy on the same seeds gives', async () => {
    for (const row of rows) {
      const runs = await Promise.all(
        input.seeds.map((seed) => simulate({ ...input, policy: row.policy, workload: input.workloadFor(seed) })),
      );
      expect(row.summary).toEqual(summarizeSim(runs, input.durationMs));
      expect(row.summary!.checkpoints).toBe(runs.reduce((n, r) => n + r.length, 0));
      const frozenMs = runs.flat().reduce((s, r) => s + r.frozen_us / 1000, 0);
      expect(row.summary!.frozenShare).toBeCloseTo(frozenMs / (3 * input.durationMs), 12);
    }
  });

  it('summaries are consistent with each policy: fixed never moves, the adaptive ones keep more checkpoints in band', () => {
    const [fixed, threshold, predictive] = rows.map((r) => r.summary!);
    expect(fixed!.intervalMs).toEqual({ mean: 500, min: 500, max: 500 });
    expect(threshold!.inBandShare).toBeGreaterThan(fixed!.inBandShare);
    expect(predictive!.inBandShare).toBeGreaterThan(fixed!.inBandShare);
    for (const s of [fixed, threshold, predictive]) {
      expect(s!.inBandShare).toBeGreaterThanOrEqual(0);
      expect(s!.inBandShare).toBeLessThanOrEqual(1);
      expect(s!.intervalMs.min).toBeGreaterThanOrEqual(BAND.minMs);
      expect(s!.intervalMs.max).toBeLessThanOrEqual(BAND.maxMs);
      expect(s!.sizeBytes.median).toBeLessThanOrEqual(s!.sizeBytes.p90);
      expect(s!.frozenShare).toBeGreaterThan(0);
      // The default profile (CRIU 4.2.1 at load 9) freezes a 64 MiB dump for ~80 ms in mode delta: ~16 % here.
      expect(s!.frozenShare).toBeLessThan(0.25);
    }
  });

  it('is deterministic', async () => {
    expect(JSON.stringify(await comparePolicies(input))).toBe(JSON.stringify(rows));
  });

  it("draws each seed's late starts with that seed, as simulating that seed alone does", async () => {
    const same = {
      ...input,
      workloadFor: () => input.workloadFor(1),
      policies: [resolvePolicySpec({ kind: 'fixed' })],
    };
    const late = (seed: number) => ({ samplesMs: [0, 40, 90], seed });
    const [row] = await comparePolicies({ ...same, startLateFor: late });
    const counts = row!.perSeed.map((r) => r.summary!.checkpoints);
    expect(new Set(counts).size).toBeGreaterThan(1); // the same workload, three draws of late starts
    for (const [i, seed] of same.seeds.entries()) {
      const alone = await simulate({
        ...same,
        policy: same.policies[0]!,
        workload: same.workloadFor(),
        startLate: late(seed),
      });
      expect(counts[i]).toBe(alone.length);
    }
    const [onTime] = await comparePolicies(same);
    expect(new Set(onTime!.perSeed.map((r) => r.summary!.checkpoints)).size).toBe(1);
  });

  it('refuses an empty list of seeds or policies', async () => {
    await expect(comparePolicies({ ...input, seeds: [] })).rejects.toThrow(/at least one seed/);
    await expect(comparePolicies({ ...input, policies: [] })).rejects.toThrow(/at least one policy/);
  });
});
