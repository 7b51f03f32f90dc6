// The endurance bench's arithmetic, pure: from samples taken against the checkpoint count, how fast each
// quantity grows per 1000 checkpoints once warmed up, as a share of what it was in the run's first window.
// The machine is shared and noisy, so nothing here is an absolute bound: a quantity that holds steady has a
// slope near 0 % of its first window whatever the load; a leak has one that does not shrink with a longer run.
import { linearRegression } from 'simple-statistics';
import type { BenchRow } from './harness.js';
import type { DaemonSample, TreeSample } from './soak-sample.js';

/** One quantity at one moment. */
export interface Point {
  checkpoints: number;
  value: number;
}

/** What one quantity did over the run. */
export interface Trend {
  /** Mean over the first window (the first `windowShare` of the checkpoints). */
  first: number;
  /** Mean over the last window of the same length. */
  last: number;
  /** Least-squares slope after the first window, per 1000 checkpoints. */
  perThousand: number;
  points: number;
}

/**
 * The trend of points (in checkpoint order). The first window is warm-up (V8 growing its heap, the first
 * chain, the first compaction) and is the baseline, not part of the slope.
 */
export function trend(points: readonly Point[], windowShare = 0.2): Trend | undefined {
  if (points.length < 4) return undefined;
  const from = points[0]?.checkpoints ?? 0;
  const to = points[points.length - 1]?.checkpoints ?? 0;
  const span = Math.max(1, (to - from) * windowShare);
  const mean = (list: readonly Point[]) => list.reduce((sum, p) => sum + p.value, 0) / Math.max(1, list.length);
  const firstWindow = points.filter((p) => p.checkpoints <= from + span);
  const lastWindow = points.filter((p) => p.checkpoints >= to - span);
  const rest = points.filter((p) => p.checkpoints > from + span);
  const fit = rest.length >= 2 ? linearRegression(rest.map((p) => [p.checkpoints, p.value])) : { m: 0 };
  return { first: mean(firstWindow), last: mean(lastWindow), perThousand: fit.m * 1000, points: points.length };
}

/** A row per quantity: its slope per 1000 checkpoints beside the first window, the ratio being the growth share. */
export function trendRow(bench: string, name: string, unit: string, points: readonly Point[]): BenchRow | undefined {
  const t = trend(points);
  if (t === undefined) return undefined;
  return {
    bench,
    name: `${name}: growth per 1000 checkpoints after warm-up (last window ${t.last.toPrecision(4)} ${unit}, ${t.points} samples)`,
    unit,
    value: t.perThousand,
    baseline: { name: 'first window mean', value: t.first },
    ratio: t.first === 0 ? undefined : t.perThousand / t.first,
  } satisfies BenchRow;
}

/** What the soak saw at one moment. */
export interface Sample {
  /** ms since the first sample. */
  at: number;
  checkpoints: number;
  /** The 1-minute load average. */
  load: number;
  run: DaemonSample;
  ship: DaemonSample;
  backup: DaemonSample;
  redisRss: number | undefined;
  images: TreeSample;
  backupStore: TreeSample;
  /** Bytes of the records file and its rotated copies. */
  records: number;
  /** remusd_ship_lag_seconds: from the newest acknowledged checkpoint being written to its ack. */
  shipLagSeconds: number | undefined;
  /** Median INCR round trip since the previous sample (output commit waits for the backup's ack). */
  incrMs: number | undefined;
}

const MIB = 2 ** 20;
const mib = (bytes: number | undefined) => (bytes === undefined ? undefined : bytes / MIB);

// Each quantity the soak reports: its name, its unit, and how to read it from a sample.
const QUANTITIES: [string, string, (s: Sample) => number | undefined][] = [
  ...(['run', 'ship', 'backup'] as const).flatMap((role): [string, string, (s: Sample) => number | undefined][] => [
    [`remusd ${role} RSS`, 'MiB', (s) => mib(s[role].rssBytes)],
    [`remusd ${role} V8 heap used`, 'MiB', (s) => mib(s[role].heapUsedBytes)],
    [`remusd ${role} open fds`, 'fds', (s) => s[role].fds],
    [`remusd ${role} event-loop handles`, 'handles', (s) => s[role].handles],
    [`remusd ${role} children`, 'processes', (s) => s[role].children],
    [`remusd ${role} zombie children`, 'processes', (s) => s[role].zombies],
  ]),
  ['redis RSS', 'MiB', (s) => mib(s.redisRss)],
  ['primary store', 'MiB', (s) => mib(s.images.bytes)],
  ['primary checkpoint directories', 'dirs', (s) => s.images.checkpoints],
  ['primary leftovers (.tmp, .compact, .partial)', 'entries', (s) => s.images.leftovers],
  ['backup store', 'MiB', (s) => mib(s.backupStore.bytes)],
  ['backup checkpoint directories', 'dirs', (s) => s.backupStore.checkpoints],
  ['backup leftovers (.tmp, .compact, .partial)', 'entries', (s) => s.backupStore.leftovers],
  ['records files (with rotated copies)', 'KiB', (s) => s.records / 1024],
  ['ship lag (remusd_ship_lag_seconds)', 's', (s) => s.shipLagSeconds],
  ['client INCR round trip, median per sample', 'ms', (s) => s.incrMs],
];

/** A slope row per quantity the samples hold. */
export function trendRows(bench: string, samples: readonly Sample[]): BenchRow[] {
  return QUANTITIES.flatMap(([name, unit, read]) => {
    const points = samples.flatMap((s) => {
      const value = read(s);
      return value === undefined ? [] : [{ checkpoints: s.checkpoints, value }];
    });
    return trendRow(bench, name, unit, points) ?? [];
  });
}
