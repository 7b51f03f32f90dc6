// Bench: CRIU at SCHED_FIFO (criu.realtime_priority, src/criu/realtime.ts) against CRIU at normal scheduling, in
// ONE supervised run of the 64 MiB dirtier (mode delta, compaction on, 1 s): blocks of BLOCK checkpoints
// alternate between the two, so that the neighbours' load and its bursts fall on both alike. Reports per arm:
// frozen p50/p99 and CRIU's memdump and memwrite times. CRIU's memdump_time
// includes its memwrite_time (a regular dump writes each chunk of pages as soon as it has read it: criu/mem.c,
// xfer_pages inside the TIME_MEMDUMP span), so the reading alone is memdump − memwrite.
// REMUSD_BENCH_REALTIME_CHECKPOINTS sets the checkpoints in all (default 120; the 10 minutes: 600);
// REMUSD_BENCH_REALTIME_OUT names a file for one JSON line per checkpoint (to look at the bursts).
// Right before each dump, copy-reference.c reads and writes the same 64 MiB unfrozen: its p99/p50 is the
// machine's own spread for that work in the same minutes, the yardstick for the freeze's.
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { quantile } from 'simple-statistics';
import { at } from '../at.js';
import { compareRow, frozenTailRow, type BenchRow } from './harness.js';
import { DEFAULT_REALTIME_PRIORITY } from '../config/defaults.js';
import { superviseDirtier, type RunCheckpoint } from './supervised-run.js';

const BENCH = 'criu-realtime';
/** Checkpoints in a row dumped the same way: 10 s, shorter than the 16–50 s bursts seen here. */
const BLOCK = 10;
/** Start-up (first dumps, JIT) and the first, full checkpoint are not steady state. */
const SKIP = 3;

/**
 * Odd blocks run CRIU at SCHED_FIFO: checkpoints 1–10 at normal scheduling, 11–20 at SCHED_FIFO, …
 * REMUSD_BENCH_REALTIME_ONLY=fifo runs every checkpoint at SCHED_FIFO (remusd's default), for the issue's
 * 10-minute run of the default configuration.
 */
const onlyFifo = process.env.REMUSD_BENCH_REALTIME_ONLY === 'fifo';
const realtime = (seq: number) => onlyFifo || Math.floor((seq - 1) / BLOCK) % 2 === 1;

export async function run(): Promise<BenchRow[]> {
  const checkpoints = Number(process.env.REMUSD_BENCH_REALTIME_CHECKPOINTS ?? 120);
  // The load average every 10 s: a 10-minute run's neighbours are not those of its first and last second.
  const loads = [at(loadavg(), 0)];
  const sampler = setInterval(() => loads.push(at(loadavg(), 0)), 10_000);
  const records = await superviseDirtier({
    name: 'criu-realtime',
    checkpoints: SKIP + checkpoints,
    intervalMs: 1000,
    // ~3 MiB per 1 s interval: issue 11's band of 1–4 MiB.
    dirtyPagesPerS: 768,
    retention: { keep: 5, newChainEvery: 20, maxChainBytes: undefined, compact: true, compactAt: 16 },
    realtime: { priority: DEFAULT_REALTIME_PRIORITY, when: realtime },
    copyReference: true,
  }).finally(() => clearInterval(sampler));
  loads.push(at(loadavg(), 0));
  const out = process.env.REMUSD_BENCH_REALTIME_OUT;
  if (out !== undefined) writeFileSync(out, records.map((r) => `${JSON.stringify(line(r))}\n`).join(''));
  const load = `load ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} (median ${quantile(loads, 0.5).toFixed(1)})`;
  const steady = records.slice(SKIP);
  const arm = (label: string, checkpoints: RunCheckpoint[]) => ({ label, checkpoints, ...measure(checkpoints) });
  const fifo = arm(
    `CRIU at SCHED_FIFO ${DEFAULT_REALTIME_PRIORITY}`,
    steady.filter((r) => realtime(r.record.seq)),
  );
  const normal = onlyFifo
    ? undefined
    : arm(
        'CRIU at normal scheduling',
        steady.filter((r) => !realtime(r.record.seq)),
      );
  const rows: BenchRow[] = [];
  const how = onlyFifo ? 'all at SCHED_FIFO' : `blocks of ${BLOCK} alternating`;
  for (const arm of normal === undefined ? [fifo] : [fifo, normal]) {
    const what = `${arm.label}, ${arm.checkpoints.length} checkpoints (64 MiB, 1 s, compaction; ${how}), ${load}`;
    rows.push(
      { bench: BENCH, name: `${what}: frozen p50`, unit: 'ms', value: arm.frozen.p50 },
      frozenTailRow(BENCH, `${what}: frozen p99`, arm.frozen),
      ...(['memwrite', 'reading'] as const).map((key) =>
        compareRow({
          bench: BENCH,
          name: `${what}: CRIU ${key === 'memwrite' ? 'memwrite_time' : 'memdump_time − memwrite_time (reading)'} p50 / p99`,
          unit: 'ms',
          value: arm[key].p99,
          baseline: { name: 'p50', value: arm[key].p50 },
        }),
      ),
      // The yardstick: is a p99 over 1.5× its median the dump's, or the machine's for that work?
      compareRow({
        bench: BENCH,
        name: `${what}: the same reading and writing unfrozen (copy-reference.c, right before each dump) p50 / p99`,
        unit: 'ms',
        value: arm.reference.p99,
        baseline: { name: 'p50', value: arm.reference.p50 },
      }),
      compareRow({
        bench: BENCH,
        name: `${what}: frozen p99/p50 against the copy's p99/p50 (same checkpoints)`,
        unit: '×',
        value: arm.frozen.p99 / arm.frozen.p50,
        baseline: { name: "the copy's", value: arm.reference.p99 / arm.reference.p50 },
      }),
    );
  }
  if (normal === undefined) return rows;
  for (const key of ['frozen', 'memwrite', 'reading'] as const) {
    for (const q of ['p50', 'p99'] as const) {
      rows.push(
        compareRow({
          bench: BENCH,
          name: `${key} ${q}: CRIU at SCHED_FIFO against normal scheduling, same run, ${load}`,
          unit: 'ms',
          value: fifo[key][q],
          baseline: { name: 'normal scheduling', value: normal[key][q] },
        }),
      );
    }
  }
  return rows;
}

// Frozen time, CRIU's write time and its reading time (memdump − memwrite), p50 and p99, in ms.
function measure(checkpoints: readonly RunCheckpoint[]) {
  const quantiles = (values: number[]) => ({ p50: quantile(values, 0.5), p99: quantile(values, 0.99) });
  const stats = checkpoints.flatMap((r) => (r.stats === undefined ? [] : [r.stats]));
  return {
    frozen: quantiles(checkpoints.map((r) => r.record.frozen_us / 1000)),
    memwrite: quantiles(stats.map((s) => s.memwrite_time / 1000)),
    reading: quantiles(stats.map((s) => (s.memdump_time - s.memwrite_time) / 1000)),
    reference: quantiles(checkpoints.flatMap((r) => (r.referenceUs === undefined ? [] : [r.referenceUs / 1000]))),
  };
}

// One checkpoint's numbers, for REMUSD_BENCH_REALTIME_OUT.
function line({ record, stats, referenceUs }: RunCheckpoint) {
  return {
    seq: record.seq,
    start: record.start,
    realtime: realtime(record.seq),
    frozen_ms: record.frozen_us / 1000,
    memdump_ms: (stats?.memdump_time ?? Number.NaN) / 1000,
    memwrite_ms: (stats?.memwrite_time ?? Number.NaN) / 1000,
    compacted: record.compacted !== undefined,
    copy_reference_ms: (referenceUs ?? Number.NaN) / 1000,
  };
}
