import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chooseRun, type RunView } from '../../src/replicate/run-choice.js';
import { runsToPrune } from '../../src/replicate/run-retention.js';

// Which whole runs backup --keep-runs removes: the oldest by the primary's clock past keep-runs, never a run
// still receiving, never the run a failover would restore.

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** A run whose newest checkpoint was taken at takenMs (undefined: no complete checkpoint). */
function run(n: number, takenMs: number | undefined): RunView {
  const checkpoints =
    takenMs === undefined ? [] : [{ seq: 1, name: '00000001', parentSeq: undefined, sizeBytes: 4096 }];
  return {
    id: id(n),
    dir: `/b/runs/${id(n)}`,
    checkpoints,
    takenAtMs: new Map(takenMs === undefined ? [] : [['00000001', takenMs]]),
  };
}

describe('runsToPrune', () => {
  it('keeps the newest keep-runs by the newest checkpoint taken, removing the rest with the reason', () => {
    const runs = [run(1, 5_000), run(2, 1_000), run(3, 9_000), run(4, 3_000)];
    const doomed = runsToPrune(runs, 2, new Set());
    expect(doomed.map((d) => d.id)).toEqual([id(4), id(2)]);
    expect(doomed[0]!.why).toBe(
      `run ${id(4)} is number 3 of 4 by its newest checkpoint (taken ${new Date(3_000).toISOString()}); keep_runs 2`,
    );
    expect(runsToPrune(runs, 4, new Set())).toEqual([]);
  });

  it('holds for any runs: never a receiving run, never the one failover picks, keep-runs kept, nothing below', () => {
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.integer({ min: 0, max: 1_000_000 }), { nil: undefined }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(11), { maxLength: 3 }),
        (times, keep, receivingIndexes) => {
          const runs = times.map((t, i) => run(i, t));
          const receiving = new Set(receivingIndexes.filter((i) => i < runs.length).map(id));
          const doomed = new Set(runsToPrune(runs, keep, receiving).map((d) => d.id));
          for (const r of receiving) expect(doomed.has(r)).toBe(false);
          const choice = chooseRun(runs);
          if (choice.ok) expect(doomed.has(choice.run.id!)).toBe(false);
          expect(runs.length - doomed.size).toBeGreaterThanOrEqual(Math.min(keep, runs.length));
          // A run removed has at least keep-runs runs at least as new as it.
          const taken = (r: RunView) => Math.max(-Infinity, ...r.takenAtMs.values());
          for (const gone of runs.filter((r) => doomed.has(r.id!)))
            expect(runs.filter((r) => r !== gone && taken(r) >= taken(gone)).length).toBeGreaterThanOrEqual(keep);
        },
      ),
    );
  });
});
