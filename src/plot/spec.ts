// The plot of a run as a Vega-Lite spec (pure): interval over time with its [min, max] clamps, and
// checkpoint size over time with the [lmin, lmax] band shaded. The interval line steps before each
// point: a record's interval_ms is the one that ran up to that checkpoint. Sizes use a symlog scale (linear below
// lmin, logarithmic above), so a 64 MiB chain start and a 200 KiB quiet spell both stay readable.

import type { TopLevelSpec } from 'vega-lite';
import type { Band } from '../model/policy.js';
import type { PlotPoint } from './points.js';

const WIDTH = 760;
const HEIGHT = 220;
const DECISION_COLORS = { domain: ['shrink', 'hold', 'grow', 'chain start'], range: ['#d62728', '#7f7f7f', '#2ca02c', '#9467bd'] };

// 0, powers of two from lmin/4 up to the largest size, and the band's edges: labels where a symlog axis
// would otherwise have none below its constant.
function sizeTicks(maxMiB: number, lminMiB: number, lmaxMiB: number): number[] {
  const ticks = new Set([0, lminMiB, lmaxMiB]);
  for (let v = 2 ** Math.floor(Math.log2(Math.max(lminMiB / 4, 1 / 1024))); v <= maxMiB * 1.01; v *= 2) ticks.add(v);
  return [...ticks].filter((v) => v > 0 || v === 0).sort((a, b) => a - b);
}

/** A two-panel Vega-Lite spec of the records against the band. */
export function runPlotSpec(points: readonly PlotPoint[], band: Band, title: string): TopLevelSpec {
  const data = points.map((p) => ({ ...p, kind: p.chainStart ? 'chain start' : p.decision }));
  const tMax = Math.max(...points.map((p) => p.t), 0);
  const x = { field: 't', type: 'quantitative' as const, title: 'time (s)', scale: { domain: [0, tMax] } };
  const color = { field: 'kind', type: 'nominal' as const, title: 'decision', scale: DECISION_COLORS };
  const lminMiB = band.lminBytes / 2 ** 20;
  const lmaxMiB = band.lmaxBytes / 2 ** 20;
  // Every layer of a panel names the same title and scale, so the shared axis reads as one.
  const yInterval = (field: string) => ({ field, type: 'quantitative' as const, title: 'interval (ms)' });
  const sizeScale = { type: 'symlog' as const, constant: Math.max(lminMiB / 4, 1 / 1024) };
  const sizeAxis = { format: '.3~g', values: sizeTicks(Math.max(...points.map((p) => p.sizeMiB), lmaxMiB), lminMiB, lmaxMiB) };
  const ySize = (field: string) => ({ field, type: 'quantitative' as const, title: 'checkpoint size (MiB, symlog)', scale: sizeScale, axis: sizeAxis });
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
          {
            data: { values: [{ y: band.minMs, label: 'min' }, { y: band.maxMs, label: 'max' }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: '#555' },
            encoding: { y: yInterval('y') },
          },
          { mark: { type: 'line', interpolate: 'step-before', color: '#1f77b4' }, encoding: { x, y: yInterval('intervalMs') } },
          { mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y: yInterval('intervalMs'), color, tooltip: [{ field: 'seq' }, { field: 'intervalMs' }, { field: 'nextIntervalMs' }] } },
        ],
      },
      {
        width: WIDTH,
        height: HEIGHT,
        layer: [
          {
            data: { values: [{ y: lminMiB, y2: lmaxMiB }] },
            mark: { type: 'rect', color: '#2ca02c', opacity: 0.12 },
            encoding: { y: ySize('y'), y2: { field: 'y2' } },
          },
          {
            data: { values: [{ y: lminMiB, label: `lmin ${lminMiB} MiB` }, { y: lmaxMiB, label: `lmax ${lmaxMiB} MiB` }] },
            mark: { type: 'rule', strokeDash: [4, 4], color: '#2ca02c' },
            encoding: { y: ySize('y') },
          },
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
  } as TopLevelSpec;
}
