// `remusd plot`'s pieces (src/plot/): records to rows (each with its band), rows to a Vega-Lite spec, the
// spec to SVG, the default title and the CSV rows.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/loop/record-reader.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { PLOT_CSV_COLUMNS, plotCsvRows } from '../../src/plot/csv.js';
import { plotFormatOf } from '../../src/plot/formats.js';
import { bandsOf, plotPoints as pointsOf } from '../../src/plot/points.js';
import { renderSvg } from '../../src/plot/render.js';
import { runPlotSpec } from '../../src/plot/spec.js';
import { defaultTitle } from '../../src/plot/title.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { simulate } from '../../src/sim/simulate.js';
import { BAND, fixture, MiB, PAGE, phased } from './helpers.js';

const demo = readFileSync(fixture('demo-delta-15s.records.jsonl'), 'utf8');
const plotPoints = (text: string, source: string) => pointsOf(parseRecords(text, source), source, BAND);
const jsonl = (records: readonly CheckpointRecord[]) => records.map((r) => JSON.stringify(r)).join('\n');
const simulated = () =>
  simulate({
    policy: { kind: 'threshold' },
    band: BAND,
    initialIntervalMs: 500,
    workload: phased([[2000, 5]]),
    cost: DEFAULT_COST,
    durationMs: 10_000,
    pageSize: PAGE,
  });
/** Simulated records whose band a "reload" changed from the 8th checkpoint on. */
const WIDER = { lmin_bytes: 2 * MiB, lmax_bytes: 24 * MiB, min_ms: 100, max_ms: 8000 };
async function reloaded(): Promise<CheckpointRecord[]> {
  return (await simulated()).map((r, i) => (i >= 7 ? { ...r, band: WIDER } : r));
}

describe('plot points', () => {
  it('reads real records: time from the first start, sizes in MiB, chain starts marked', () => {
    const points = plotPoints(demo, 'demo.jsonl');
    expect(points).toHaveLength(55);
    expect(points[0]).toMatchObject({ seq: 1, t: 0, intervalMs: 500, chainStart: true });
    expect(points[1]!.t).toBeCloseTo(0.5, 1);
    expect(points.filter((p) => p.chainStart)).toHaveLength(3);
  });

  it('reads simulated records too, chain starts from their chain_start field', async () => {
    const records = await simulated();
    const points = pointsOf(parseRecords(jsonl(records), 'sim.jsonl'), 'sim.jsonl');
    expect(points.map((p) => p.t)).toEqual(
      records.map((r) => (Date.parse(r.start) - Date.parse(records[0]!.start)) / 1000),
    );
    expect(points.map((p) => p.chainStart)).toEqual(records.map((r) => r.chain_start));
    expect(points[0]!.chainStart).toBe(true);
  });

  it("takes each record's own band; a reload's change stays where it happened; --config's band overrides all", async () => {
    const records = parseRecords(jsonl(await reloaded()), 'r.jsonl');
    const points = pointsOf(records, 'r.jsonl');
    expect(points.slice(0, 7).every((p) => p.band.lmaxBytes === BAND.lmaxBytes)).toBe(true);
    expect(points.slice(7).every((p) => p.band.lmaxBytes === 24 * MiB && p.band.minMs === 100)).toBe(true);
    expect(bandsOf(points)).toEqual([BAND, { lminBytes: 2 * MiB, lmaxBytes: 24 * MiB, minMs: 100, maxMs: 8000 }]);
    const override = { lminBytes: 3 * MiB, lmaxBytes: 5 * MiB, minMs: 10, maxMs: 20 };
    expect(bandsOf(pointsOf(records, 'r.jsonl', override))).toEqual([override]);
  });

  it('refuses records without a band (schema 1) unless --config gives one, naming file:line and the fix', () => {
    expect(() => pointsOf(parseRecords(demo, 'demo.jsonl'), 'demo.jsonl')).toThrow(
      /^demo\.jsonl:1: the record carries no band \(records before schema 2\); name the run's config with --config FILE/,
    );
  });

  it('bad lines fail with file:line', () => {
    expect(() =>
      plotPoints(
        '{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"delta","interval_ms":1,"next_interval_ms":1,"size_bytes":1,"pages_written":1}\n{nope',
        'r.jsonl',
      ),
    ).toThrow(/^r\.jsonl:2: not a JSON record/);
    expect(() =>
      plotPoints('{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"delta","interval_ms":"1"}', 'r.jsonl'),
    ).toThrow(/^r\.jsonl:1: interval_ms "1" is not a number of ms/);
    expect(() => plotPoints('\n', 'r.jsonl')).toThrow(/^r\.jsonl: no records to plot/);
  });
});

describe('plot spec and SVG', () => {
  it('renders an SVG with one point per checkpoint in each panel, the band and the clamps', async () => {
    const points = plotPoints(demo, 'demo.jsonl');
    const svg = await renderSvg(runPlotSpec(points, 'demo'));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/aria-roledescription="point"/g)).toHaveLength(2 * points.length);
    expect(svg.match(/aria-roledescription="area mark"/g)).toHaveLength(1); // the band
    // The interval, the size, and min, max, lmin, lmax as lines stepping with the records' bands.
    expect(svg.match(/aria-roledescription="line mark"/g)).toHaveLength(6);
    expect(svg).toContain('checkpoint size (MiB, symlog)');
    expect(svg).toContain('interval (ms)');
  });

  it('draws a band a reload changed as a step at the first checkpoint that carried the new one', async () => {
    const points = pointsOf(parseRecords(jsonl(await reloaded()), 'r.jsonl'), 'r.jsonl');
    const svg = await renderSvg(runPlotSpec(points, 'reloaded'));
    // The max clamp's line starts at 5 s and steps to 8 s: its path holds exactly those two heights, and
    // it steps where the 8th checkpoint is.
    const path =
      /aria-label="time \(s\): 0; interval \(ms\): 5000"[^>]*aria-roledescription="line mark" d="([^"]+)"/.exec(
        svg,
      )?.[1];
    expect(path).toBeDefined();
    const vertices = [...path!.matchAll(/[ML]([\d.]+),([\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
    const heights = [...new Set(vertices.map((v) => v.y))];
    expect(heights).toHaveLength(2);
    const stepAt = vertices.find((v) => v.y === heights[1])!.x;
    const xOf = (t: number) => (t / points.at(-1)!.t) * 760;
    expect(stepAt).toBeCloseTo(xOf(points[7]!.t), 0);
    expect(svg).toMatch(/>24<\/text>/); // the new lmax is a tick of the size axis, and the old one stays
    expect(svg).toMatch(/>8<\/text>/);
  });

  it('the default title says run, mode, policy, band and date; a simulated run has no date', async () => {
    const real = parseRecords(demo, 'demo.jsonl');
    expect(
      defaultTitle(real, plotPoints(demo, 'x'), { source: '/tmp/demo-images/records.jsonl', bandFromConfig: true }),
    ).toBe(
      'demo-images · delta · policy not recorded · band 1MiB–8MiB, 200 ms–5.00 s (--config) · 2026-11-22 00:25 UTC',
    );
    const sim = parseRecords(jsonl(await simulated()), 's.jsonl');
    expect(defaultTitle(sim, pointsOf(sim, 's'), { source: 'runs/quiet.records.jsonl', bandFromConfig: false })).toBe(
      'quiet · simulated · threshold · band 1MiB–8MiB, 200 ms–5.00 s',
    );
    const changed = parseRecords(
      jsonl((await reloaded()).map((r, i) => (i >= 7 ? { ...r, policy: 'predictive' } : r))),
      'c.jsonl',
    );
    expect(defaultTitle(changed, pointsOf(changed, 'c'), { source: 'c.jsonl', bandFromConfig: false })).toBe(
      'c · simulated · threshold → predictive · band changed 1× (drawn as steps)',
    );
  });
});

describe('plot output', () => {
  it('picks the format by extension, any case; anything else is not a format', () => {
    expect(['a.svg', 'b.PNG', 'dir.v2/c.pdf'].map(plotFormatOf)).toEqual(['svg', 'png', 'pdf']);
    expect(['a.jpg', 'svg', 'a.svg.gz', 'a.'].map(plotFormatOf)).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('CSV rows: one per checkpoint, in the documented columns, with the band each was drawn against', async () => {
    const records = parseRecords(jsonl(await reloaded()), 'r.jsonl');
    const rows = plotCsvRows(records, pointsOf(records, 'r.jsonl'));
    expect(rows).toHaveLength(records.length);
    expect(rows.every((row) => row.length === PLOT_CSV_COLUMNS.length)).toBe(true);
    const at = (row: readonly unknown[], column: (typeof PLOT_CSV_COLUMNS)[number]) =>
      row[PLOT_CSV_COLUMNS.indexOf(column)];
    expect(at(rows[0]!, 'chain_start')).toBe(true);
    expect(at(rows[6]!, 'lmax_bytes')).toBe(8 * MiB);
    expect(at(rows[7]!, 'lmax_bytes')).toBe(24 * MiB);
    expect(at(rows[7]!, 'start')).toBe(new Date(records[7]!.startMs).toISOString());
    for (const row of rows) {
      const size = at(row, 'size_bytes') as number;
      expect(at(row, 'in_band')).toBe(
        size >= (at(row, 'lmin_bytes') as number) && size <= (at(row, 'lmax_bytes') as number),
      );
    }
  });
});
