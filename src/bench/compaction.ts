// Bench: compaction against new chains every 20, in the same run, on real CRIU (mode delta) with the bundled
// dirtier (64 MiB, ~3 MiB dirtied per 1 s interval, as in issue 11): frozen time p50/p99, and the bytes the
// checkpoints store per minute, which is also what `remusd ship` sends per minute (it sends each new
// checkpoint's files; with compaction the backup flattens its own copy, so nothing more goes over). Goals
// (issue 11): bytes per minute within 10 % of the sum of the deltas; frozen p99 ≤ 1.5× its median.
// REMUSD_BENCH_COMPACTION_CHECKPOINTS sets the checkpoints per variant (default 60, ~1.5 min each; the
// issue's goal is stated over 10 minutes: 600).
import { quantile } from 'simple-statistics';
import { at, type BenchRow } from './harness.js';
import { superviseDirtier, type SupervisedRun } from './supervised-run.js';

const BENCH = 'compaction';
const INTERVAL_MS = 1000;
/** 768 pages/s of 4 KiB: ~3 MiB per 1 s interval, against a 64 MiB workload. */
const DIRTY_PAGES_PER_S = 768;
/** Start-up (first dumps, JIT) and the first, full checkpoint are not steady state. */
const SKIP = 3;

interface Measured {
  frozenP50Ms: number;
  frozenP99Ms: number;
  /** Bytes of the checkpoints' directories (what is stored and shipped), per minute of run. */
  storedPerMin: number;
  /** Bytes of the deltas (pages that changed, non-chain-start checkpoints) per minute. */
  deltasPerMin: number;
  /** Bytes compaction wrote locally per minute (never frozen, never shipped). */
  compactionPerMin: number;
  chainStarts: number;
  compactions: number;
}

async function measure(variant: Pick<SupervisedRun, 'name' | 'retention'>, checkpoints: number): Promise<Measured> {
  const records = await superviseDirtier({ ...variant, checkpoints, intervalMs: INTERVAL_MS, dirtyPagesPerS: DIRTY_PAGES_PER_S });
  const steady = records.slice(SKIP);
  const minutes = (Date.parse(at(records, records.length - 1).record.start) - Date.parse(at(steady, 0).record.start)) / 60_000;
  const frozen = steady.map((r) => r.record.frozen_us / 1000);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    frozenP50Ms: quantile(frozen, 0.5),
    frozenP99Ms: quantile(frozen, 0.99),
    storedPerMin: sum(steady.map((r) => r.dirBytes)) / minutes,
    deltasPerMin: sum(steady.filter((r) => !r.record.chain_start).map((r) => r.record.size_bytes)) / minutes,
    compactionPerMin: sum(steady.map((r) => r.record.compacted?.bytes_written ?? 0)) / minutes,
    chainStarts: steady.filter((r) => r.record.chain_start).length,
    compactions: steady.filter((r) => r.record.compacted !== undefined).length,
  };
}

export async function run(): Promise<BenchRow[]> {
  const checkpoints = Number(process.env.REMUSD_BENCH_COMPACTION_CHECKPOINTS ?? 60);
  const base = { keep: 5, newChainEvery: 20, maxChainBytes: undefined };
  const chains = await measure({ name: 'new chains every 20', retention: { ...base, compact: false } }, checkpoints);
  const compacted = await measure({ name: 'compaction', retention: { ...base, compact: true, compactAt: 16 } }, checkpoints);
  const MiB = 2 ** 20;
  const rows: BenchRow[] = [];
  for (const [label, m] of [
    ['compaction (compact_at 16)', compacted],
    ['new chains every 20', chains],
  ] as const) {
    const what = `${label}, ${checkpoints - SKIP} checkpoints at 1 s, 64 MiB`;
    rows.push(
      { bench: BENCH, name: `${what}: frozen p50`, unit: 'ms', value: m.frozenP50Ms },
      {
        bench: BENCH,
        name: `${what}: frozen p99 (${m.chainStarts} chain starts, ${m.compactions} compactions)`,
        unit: 'ms',
        value: m.frozenP99Ms,
        baseline: { name: 'its p50', value: m.frozenP50Ms },
        ratio: m.frozenP99Ms / m.frozenP50Ms,
        target: 'p99 ≤ 1.5× p50',
        pass: m.frozenP99Ms <= 1.5 * m.frozenP50Ms,
      },
      {
        bench: BENCH,
        name: `${what}: bytes stored = shipped per minute`,
        unit: 'MiB/min',
        value: m.storedPerMin / MiB,
        baseline: { name: 'sum of the deltas', value: m.deltasPerMin / MiB },
        ratio: m.storedPerMin / m.deltasPerMin,
        target: '≤ 1.1× the deltas',
        pass: m.storedPerMin <= 1.1 * m.deltasPerMin,
      },
    );
    if (m === compacted) {
      rows.push({ bench: BENCH, name: `${what}: written locally by compaction (not frozen, not shipped)`, unit: 'MiB/min', value: m.compactionPerMin / MiB });
    }
  }
  return rows;
}
