// The plot of a run as a Vega-Lite spec (pure): interval over time with its [min, max] clamps, and
// checkpoint size over time with the [lmin, lmax] band shaded. The interval line steps before each
// point: a record's interval_ms is the one that ran up to that checkpoint. The band and clamps step after
// each point: a record's band is the one its decision was taken against, so a reload that changed the band
// shows as a step at the first checkpoint that saw the new one (a flat band when nothing changed it).
// Sizes use a symlog scale (linear below lmin, logarithmic above), so a 64 MiB chain start and a 200 KiB
// quiet spell both stay readable.

import type { TopLevelSpec } from 'vega-lite';
import { bandsOf, type PlotPoint } from './points.js';

const WIDTH = 760;
const HEIGHT = 220;
const MiB = 2 ** 20;
const DECISION_COLORS = {
  domain: ['shrink', 'hold', 'grow', 'chain start'],
  range: ['#d62728', '#7f7f7f', '#2ca02c', '#9467bd'],
};

// 0, powers of two from lmin/4 up to the largest size, and the bands' edges: labels where a symlog axis
// would otherwise have none below its constant.
function sizeTicks(maxMiB: number, lowestMiB: number, edgesMiB: readonly number[]): number[] {
  const ticks = new Set([0, ...edgesMiB]);
  for (let v = 2 ** Math.floor(Math.log2(Math.max(lowestMiB / 4, 1 / 1024))); v <= maxMiB * 1.01; v *= 2) ticks.add(v);
  return [...ticks].sort((a, b) => a - b);
}

/** A two-panel Vega-Lite spec of the records against the band each was decided against. */
export function runPlotSpec(points: readonly PlotPoint[], title: string): TopLevelSpec {
  const data = points.map((p) => ({
    seq: p.seq,
    t: p.t,
    intervalMs: p.intervalMs,
    nextIntervalMs: p.nextIntervalMs,
    sizeMiB: p.sizeMiB,
    kind: p.chainStart ? 'chain start' : p.decision,
    minMs: p.band.minMs,
    maxMs: p.band.maxMs,
    lminMiB: p.band.lminBytes / MiB,
    lmaxMiB: p.band.lmaxBytes / MiB,
  }));
  const bands = bandsOf(points);
  const tMax = Math.max(...points.map((p) => p.t), 0);
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)', scale: { domain: [0, tMax] } };
  const color = { field: 'kind', type: 'nominal' as const, title: 'decision', scale: DECISION_COLORS };
  const edgesMiB = bands.flatMap((b) => [b.lminBytes / MiB, b.lmaxBytes / MiB]);
  const lowestMiB = Math.min(...bands.map((b) => b.lminBytes / MiB));
  // Every layer of a panel names the same title and scale, so the shared axis reads as one.
  const yInterval = (field: string) => ({ field, type: 'quantitative' as const, title: 'interval (ms)' });
  const sizeScale = { type: 'symlog' as const, constant: Math.max(lowestMiB / 4, 1 / 1024) };
  const sizeAxis = {
    format: '.3~g',
    values: sizeTicks(Math.max(...points.map((p) => p.sizeMiB), ...edgesMiB), lowestMiB, edgesMiB),
  };
  const ySize = (field: string) => ({
    field,
    type: 'quantitative' as const,
    title: 'checkpoint size (MiB, symlog)',
    scale: sizeScale,
    axis: sizeAxis,
  });
  const bandEdge = (y: { field: string }, stroke: string) => ({
    mark: {
      type: 'line' as const,
      interpolate: 'step-after' as const,
      strokeDash: [4, 4],
      strokeWidth: 1,
      color: stroke,
    },
    encoding: { x, y },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    background: 'white',
    data: { values: data },
    vconcat: [
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          bandEdge(yInterval('minMs'), '#555'),
          bandEdge(yInterval('maxMs'), '#555'),
          {
            mark: { type: 'line', interpolate: 'step-before', color: '#1f77b4' },
            encoding: { x, y: yInterval('intervalMs') },
          },
          {
            mark: { type: 'point', filled: true, size: 30 },
            encoding: {
              x,
              y: yInterval('intervalMs'),
              color,
              tooltip: [{ field: 'seq' }, { field: 'intervalMs' }, { field: 'nextIntervalMs' }],
            },
          },
        ],
      },
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            mark: { type: 'area', interpolate: 'step-after', color: '#2ca02c', opacity: 0.12 },
            encoding: { x, y: ySize('lminMiB'), y2: { field: 'lmaxMiB' } },
          },
          bandEdge(ySize('lminMiB'), '#2ca02c'),
          bandEdge(ySize('lmaxMiB'), '#2ca02c'),
          { mark: { type: 'line', color: '#aaa' }, encoding: { x, y: ySize('sizeMiB') } },
          {
            mark: { type: 'point', filled: true, size: 30 },
            encoding: {
              x,
              y: ySize('sizeMiB'),
              color,
              tooltip: [{ field: 'seq' }, { field: 'sizeMiB' }, { field: 'kind' }],
            },
          },
        ],
        resolve: { scale: { y: 'shared' } },
      },
    ],
  };
}
