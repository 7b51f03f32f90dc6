// The frozen-time spike after a delta chain start (issue 11), with and without its fix, in the same run:
// the real supervisor on the bundled dirtier (64 MiB, ~3 MiB dirtied per 1 s interval), mode delta, a new
// chain every 3 checkpoints, so every third checkpoint follows a chain start. Each arm runs twice, the arms
// alternating (keep, drop, keep, drop), so the machine's load falls on both alike. Reported per arm: the
// median frozen time of the checkpoint after a chain start against that of the other deltas (the baseline),
// and the same for CRIU's memdump_time and memwrite_time, the two parts of the freeze that touch the 64 MiB.
// Under `remusd run` at load 14 the ratio was 2.1× (memwrite 4.9×) without the fix and 0.87× (0.93×) with
// it; this bench gave 1.04×, 1.62× and 0.97× without and 1.11×, 0.87× and 0.88× with it at load 3–10: the
// spike comes and goes with the guest's free memory, and the memwrite part of it was not seen again.
//
// Why whole runs and not a few checkpoints in a fresh directory each: the spike comes from which free pages
// the next dump's image gets (src/fs/page-cache.ts), so it needs a run's own rhythm of pages freed and
// reused; rounds of three checkpoints, each round deleting the last one's images, showed no spike in either
// arm (0.71× and 0.90×, load 8).
import { median } from 'simple-statistics';
import { at } from '../at.js';
import { compareRow, type BenchRow } from './harness.js';
import { superviseDirtier, type RunCheckpoint } from './supervised-run.js';

const BENCH = 'chain-start';
const CHECKPOINTS_PER_RUN = 19;
/** The first chain start and the two after it: start-up, not the run's rhythm. */
const SKIP = 3;

type Arm = 'keep' | 'drop';

// What is compared, ms: the whole freeze, and CRIU's two parts of it that touch the 64 MiB.
const METRICS = {
  frozen: { name: 'frozen time', of: (c: RunCheckpoint) => c.record.frozen_us / 1000 },
  memdump: {
    name: "CRIU's memdump_time (reading the frozen memory)",
    of: (c: RunCheckpoint) => (c.stats?.memdump_time ?? Number.NaN) / 1000,
  },
  memwrite: {
    name: "CRIU's memwrite_time (writing the image, inside the freeze)",
    of: (c: RunCheckpoint) => (c.stats?.memwrite_time ?? Number.NaN) / 1000,
  },
} as const;
type Metric = keyof typeof METRICS;
const METRIC_NAMES: readonly Metric[] = ['frozen', 'memdump', 'memwrite'];
type Samples = Record<Metric, { after: number[]; other: number[] }>;

const empty = (): Samples => ({
  frozen: { after: [], other: [] },
  memdump: { after: [], other: [] },
  memwrite: { after: [], other: [] },
});

// Sorts a run's deltas into those right after a chain start and the others.
function collect(samples: Samples, run: readonly RunCheckpoint[]): void {
  for (let i = SKIP; i < run.length; i++) {
    const checkpoint = at(run, i);
    if (checkpoint.record.chain_start || checkpoint.stats === undefined) continue;
    const after = at(run, i - 1).record.chain_start;
    for (const metric of METRIC_NAMES) samples[metric][after ? 'after' : 'other'].push(METRICS[metric].of(checkpoint));
  }
}

export async function run(): Promise<BenchRow[]> {
  const arms: Record<Arm, Samples> = { keep: empty(), drop: empty() };
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
  const label = (arm: Arm) =>
    arm === 'drop'
      ? 'chain start image dropped from the page cache (the fix)'
      : 'chain start image left in the page cache (before)';
  return (['keep', 'drop'] as const).flatMap((arm) =>
    METRIC_NAMES.map((metric) => {
      const { after, other } = arms[arm][metric];
      return compareRow({
        bench: BENCH,
        name: `${METRICS[metric].name} of the checkpoint after a delta chain start, ${label(arm)}`,
        unit: 'ms',
        value: median(after),
        baseline: { name: 'the other deltas, same arm', value: median(other) },
        ...(arm === 'drop' && metric === 'frozen'
          ? { target: { text: '< 1.5× baseline', max: 1.5 * median(other) } }
          : {}),
      });
    }),
  );
}
