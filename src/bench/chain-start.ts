// The frozen-time spike after a delta chain start (issue 11), with and without its fix, in the same run:
// the real supervisor on the bundled dirtier (64 MiB, ~3 MiB dirtied per 1 s interval), mode delta, a new
// chain every 3 checkpoints, so every third checkpoint follows a chain start. Each arm runs twice, the arms
// alternating (keep, drop, keep, drop), so the machine's load falls on both alike. Reported per arm: the
// median frozen time of the checkpoint after a chain start against that of the other deltas (the baseline),
// and the same for CRIU's memwrite_time, where the spike was. Under `remusd run` at load 14 the ratio was
// 2.1× (memwrite 4.9×) without the fix and 0.87× (0.93×) with it.
//
// Why whole runs and not a few checkpoints in a fresh directory each: the spike comes from which free pages
// the next dump's image gets (src/fs/page-cache.ts), so it needs a run's own rhythm of pages freed and
// reused; rounds of three checkpoints, each round deleting the last one's images, showed no spike in either
// arm (0.71× and 0.90×, load 8).
import { median } from 'simple-statistics';
import { at, compareRow, type BenchRow } from './harness.js';
import { superviseDirtier, type RunCheckpoint } from './supervised-run.js';

const BENCH = 'chain-start';
const CHECKPOINTS_PER_RUN = 19;
/** The first chain start and the two after it: start-up, not the run's rhythm. */
const SKIP = 3;

type Arm = 'keep' | 'drop';

interface Samples {
  afterFrozen: number[];
  otherFrozen: number[];
  afterWrite: number[];
  otherWrite: number[];
}

// Sorts a run's deltas into those right after a chain start and the others.
function collect(samples: Samples, run: readonly RunCheckpoint[]): void {
  for (let i = SKIP; i < run.length; i++) {
    const { record, stats } = at(run, i);
    if (record.chain_start || stats === undefined) continue;
    const after = at(run, i - 1).record.chain_start;
    (after ? samples.afterFrozen : samples.otherFrozen).push(record.frozen_us / 1000);
    (after ? samples.afterWrite : samples.otherWrite).push(stats.memwrite_time / 1000);
  }
}

export async function run(): Promise<BenchRow[]> {
  const arms: Record<Arm, Samples> = {
    keep: { afterFrozen: [], otherFrozen: [], afterWrite: [], otherWrite: [] },
    drop: { afterFrozen: [], otherFrozen: [], afterWrite: [], otherWrite: [] },
  };
  for (const arm of ['keep', 'drop', 'keep', 'drop'] as const) {
    const run = await superviseDirtier({
      name: `chain-start ${arm}`,
      checkpoints: CHECKPOINTS_PER_RUN,
      intervalMs: 1000,
      dirtyPagesPerS: 768,
      retention: { keep: 4, newChainEvery: 3, maxChainBytes: undefined, compact: false },
      dropChainStartCache: arm === 'drop',
    });
    collect(arms[arm], run);
  }
  const label = (arm: Arm) => (arm === 'drop' ? 'chain start image dropped from the page cache (the fix)' : 'chain start image left in the page cache (before)');
  return (['keep', 'drop'] as const).flatMap((arm) => [
    compareRow({
      bench: BENCH,
      name: `frozen time of the checkpoint after a delta chain start, ${label(arm)}`,
      unit: 'ms',
      value: median(arms[arm].afterFrozen),
      baseline: { name: 'the other deltas, same arm', value: median(arms[arm].otherFrozen) },
      ...(arm === 'drop' ? { target: { text: '< 1.5× baseline', max: 1.5 * median(arms[arm].otherFrozen) } } : {}),
    }),
    // Where the spike was: CRIU writing the image while the workload is frozen.
    compareRow({
      bench: BENCH,
      name: `CRIU's memwrite_time (inside the freeze) of that checkpoint, ${label(arm)}`,
      unit: 'ms',
      value: median(arms[arm].afterWrite),
      baseline: { name: 'the other deltas, same arm', value: median(arms[arm].otherWrite) },
    }),
  ]);
}
