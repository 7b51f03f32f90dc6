// `remusd plot`'s pieces (src/plot/): records to rows, rows to a Vega-Lite spec, the spec to SVG.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/loop/record-reader.js';
import { plotPoints as pointsOf } from '../../src/plot/points.js';
import { renderSvg } from '../../src/plot/render.js';
import { runPlotSpec } from '../../src/plot/spec.js';
import { DEFAULT_COST } from '../../src/sim/cost.js';
import { simulate } from '../../src/sim/simulate.js';
import { BAND, fixture, PAGE, phased } from './helpers.js';

const plotPoints = (text: string, source: string) => pointsOf(parseRecords(text, source), source);
const demo = readFileSync(fixture('demo-delta-15s.records.jsonl'), 'utf8');

describe('plot', () => {
  it('reads real records: time from the first start, sizes in MiB, chain starts marked', () => {
    const points = plotPoints(demo, 'demo.jsonl');
    expect(points).toHaveLength(55);
    expect(points[0]).toMatchObject({ seq: 1, t: 0, intervalMs: 500, chainStart: true });
    expect(points[1]!.t).toBeCloseTo(0.5, 1);
    expect(points.filter((p) => p.chainStart)).toHaveLength(3);
  });

  it('reads simulated records too, chain starts from their chain_start field', async () => {
    const records = await simulate({ policy: { kind: 'threshold' }, band: BAND, initialIntervalMs: 500, workload: phased([[2000, 5]]), cost: DEFAULT_COST, durationMs: 5000, pageSize: PAGE });
    const points = plotPoints(records.map((r) => JSON.stringify(r)).join('\n'), 'sim.jsonl');
    expect(points.map((p) => p.t)).toEqual(records.map((r) => (Date.parse(r.start) - Date.parse(records[0]!.start)) / 1000));
    expect(points.map((p) => p.chainStart)).toEqual(records.map((r) => r.chain_start));
    expect(points[0]!.chainStart).toBe(true);
  });

  it('bad lines fail with file:line', () => {
    expect(() => plotPoints('{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"delta","interval_ms":1,"next_interval_ms":1,"size_bytes":1,"pages_written":1}\n{nope', 'r.jsonl')).toThrow(/^r\.jsonl:2: not a JSON record/);
    expect(() => plotPoints('{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"delta","interval_ms":"1"}', 'r.jsonl')).toThrow(/^r\.jsonl:1: interval_ms "1" is not a number of ms/);
    expect(() => plotPoints('\n', 'r.jsonl')).toThrow(/^r\.jsonl: no records to plot/);
  });

  it('renders an SVG with one point per checkpoint in each panel, the band and the clamps', async () => {
    const points = plotPoints(demo, 'demo.jsonl');
    const spec = runPlotSpec(points, BAND, 'demo');
    const svg = await renderSvg(spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(2 * points.length);
    expect(svg.match(/aria-roledescription="rect mark"/g)).toHaveLength(1); // the band
    expect(svg.match(/aria-roledescription="rule mark"/g)).toHaveLength(4); // min, max, lmin, lmax
    expect(svg).toContain('checkpoint size (MiB, symlog)');
    expect(svg).toContain('interval (ms)');
  });
});
