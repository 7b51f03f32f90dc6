// Bench: compaction against new chains every 20, in the same run, on real CRIU (mode delta) with the bundled
// dirtier (64 MiB, ~3 MiB dirtied per 1 s interval: inside issue 11's band of 1–4 MiB): frozen time p50/p99,
// and the bytes the checkpoints store per minute, which is also what `remusd ship` sends per minute (it sends
// each new checkpoint's files; with compaction the backup flattens its own copy, so nothing more goes over).
// Goals (issue 11): bytes per minute within 10 % of the sum of the deltas; frozen p99 ≤ 1.5× its median.
// REMUSD_BENCH_COMPACTION_CHECKPOINTS sets the checkpoints per variant (default 60, ~1 min each; the issue's
// goal is stated over 10 minutes: 600). Each variant runs in two halves, alternating (chains, compaction,
// chains, compaction), so that the neighbours' load, which sets most of the frozen time here, falls on both
// alike; the rows give the load average over the run. With 60 checkpoints p99 is about the largest one.
import { loadavg } from 'node:os';
import { quantile } from 'simple-statistics';
import { at } from '../at.js';
import { frozenTailRow, inTurns, type BenchRow } from './harness.js';
import { superviseDirtier, type RunCheckpoint } from './supervised-run.js';

const BENCH = 'compaction';
const INTERVAL_MS = 1000;
/** 768 pages/s of 4 KiB: ~3 MiB per 1 s interval, against a 64 MiB workload. */
const DIRTY_PAGES_PER_S = 768;
/** Start-up (first dumps, JIT) and the first, full checkpoint are not steady state. */
const SKIP = 3;

interface Measured {
  frozenMs: number[];
  minutes: number;
  /** Bytes of the checkpoints' directories (what is stored and shipped). */
  stored: number;
  /** Bytes of the deltas (pages that changed, non-chain-start checkpoints). */
  deltas: number;
  /** Bytes compaction wrote locally (never frozen, never shipped). */
  compaction: number;
  chainStarts: number;
  compactions: number;
}

// Per minute: each checkpoint holds what was dirtied in the interval before it, so the first steady one's
// bytes belong before the span measured (first start to last start) and are left out.
function summarize(steady: readonly RunCheckpoint[]): Measured {
  const minutes =
    (Date.parse(at(steady, steady.length - 1).record.start) - Date.parse(at(steady, 0).record.start)) / 60_000;
  const within = steady.slice(1);
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  return {
    frozenMs: steady.map((r) => r.record.frozen_us / 1000),
    minutes,
    stored: sum(within.map((r) => r.dirBytes)),
    deltas: sum(within.filter((r) => !r.record.chain_start).map((r) => r.record.size_bytes)),
    compaction: sum(within.map((r) => r.record.compacted?.bytes_written ?? 0)),
    chainStarts: steady.filter((r) => r.record.chain_start).length,
    compactions: steady.filter((r) => r.record.compacted !== undefined).length,
  };
}

export async function run(): Promise<BenchRow[]> {
  const checkpoints = Number(process.env.REMUSD_BENCH_COMPACTION_CHECKPOINTS ?? 60);
  const base = { keep: 5, newChainEvery: 20, maxChainBytes: undefined };
  const variants = [
    { label: 'new chains every 20', variant: { name: 'new chains every 20', retention: { ...base, compact: false } } },
    {
      label: 'compaction (compact_at 16)',
      variant: { name: 'compaction', retention: { ...base, compact: true, compactAt: 16 } },
    },
  ];
  const loads: number[] = [];
  const halves = await inTurns(
    2,
    variants.map(({ variant }) => async () => {
      loads.push(at(loadavg(), 0));
      const records = await superviseDirtier({
        ...variant,
        checkpoints: SKIP + Math.ceil(checkpoints / 2),
        intervalMs: INTERVAL_MS,
        dirtyPagesPerS: DIRTY_PAGES_PER_S,
      });
      return summarize(records.slice(SKIP));
    }),
  );
  loads.push(at(loadavg(), 0));
  const load = `load ${Math.min(...loads).toFixed(0)}–${Math.max(...loads).toFixed(0)}`;
  const MiB = 2 ** 20;
  // Compaction's rows first.
  return variants
    .map(({ label }, i) => ({ label, parts: at(halves, i) }))
    .reverse()
    .flatMap(({ label, parts }) => {
      const frozen = parts.flatMap((p) => p.frozenMs);
      const total = (key: 'minutes' | 'stored' | 'deltas' | 'compaction' | 'chainStarts' | 'compactions') =>
        parts.reduce((sum, p) => sum + p[key], 0);
      const [p50, p99] = [quantile(frozen, 0.5), quantile(frozen, 0.99)];
      const perMin = (bytes: number) => bytes / total('minutes') / MiB;
      const what = `${label}, ${frozen.length} checkpoints at 1 s, 64 MiB, ${load}`;
      const rows: BenchRow[] = [
        { bench: BENCH, name: `${what}: frozen p50`, unit: 'ms', value: p50 },
        frozenTailRow(
          BENCH,
          `${what}: frozen p99 (${total('chainStarts')} chain starts, ${total('compactions')} compactions)`,
          { p50, p99 },
        ),
        {
          bench: BENCH,
          name: `${what}: bytes stored = shipped per minute`,
          unit: 'MiB/min',
          value: perMin(total('stored')),
          baseline: { name: 'sum of the deltas', value: perMin(total('deltas')) },
          ratio: total('stored') / total('deltas'),
          target: '≤ 1.1× the deltas',
          pass: total('stored') <= 1.1 * total('deltas'),
        },
      ];
      if (total('compactions') > 0)
        rows.push({
          bench: BENCH,
          name: `${what}: written locally by compaction (not frozen, not shipped)`,
          unit: 'MiB/min',
          value: perMin(total('compaction')),
        });
      return rows;
    });
}
