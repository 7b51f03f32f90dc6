import { readFileSync } from 'node:fs';
import { median } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/loop/record-reader.js';
import { calibrate } from '../../src/sim/calibrate.js';
import { summarizeSim } from '../../src/sim/summary.js';
import { simulate } from '../../src/sim/simulate.js';
import { readTrace, traceFromRecords, traceWorkload, TraceError } from '../../src/sim/trace.js';
import { BAND, fixture, PAGE } from './helpers.js';

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    schema: 2,
    mode: 'delta',
    chain_start: false,
    interval_ms: 500,
    next_interval_ms: 500,
    size_bytes: 0,
    reason: 'whatever the reason says, chain start or not',
    ...fields,
  });
// Records text to a trace, through the one records reader.
const traceOf = (text: string, source: string) => traceFromRecords(parseRecords(text, source), source);
// A chain start, two windows, another chain start, one more window.
const HAND = [
  line({ seq: 1, start: '2026-01-01T00:00:00.000Z', chain_start: true, pages_written: 16000, elapsed_ms: null }),
  line({
    seq: 2,
    start: '2026-01-01T00:00:00.500Z',
    pages_written: 1000,
    elapsed_ms: 500,
    reason: 'not a chain start',
  }),
  line({ seq: 3, start: '2026-01-01T00:00:01.000Z', pages_written: 250, elapsed_ms: 500 }),
  line({ seq: 4, start: '2026-01-01T00:00:01.500Z', chain_start: true, pages_written: 16000, elapsed_ms: 500 }),
  line({ seq: 5, start: '2026-01-01T00:00:02.500Z', pages_written: 3000, elapsed_ms: 1000 }),
  '',
].join('\n');

describe('trace replay', () => {
  it('turns records into a piecewise-constant rate, skipping chain starts and stepping in the middle of gaps', () => {
    const trace = traceOf(HAND, 'hand.jsonl');
    expect(trace).toMatchObject({ windows: 3, skipped: 2, maxPagesWritten: 16000, durationMs: 2500 });
    expect(trace.schedule.segments).toEqual([
      { startMs: 0, endMs: 500, pagesPerMs: 2 },
      // Record 4's window (a chain start: no rate) lies between rates 6× apart: the step is in its middle.
      { startMs: 500, endMs: 1250, pagesPerMs: 0.5 },
      { startMs: 1250, endMs: 1500, pagesPerMs: 3 },
      { startMs: 1500, endMs: 2500, pagesPerMs: 3 },
    ]);
    const w = traceWorkload(trace);
    expect(w.pages(0, 500)).toBe(1000);
    expect(w.pages(500, 1000)).toBe(250);
    expect(w.pages(1500, 2500)).toBe(3000);
    expect(w.pages(2500, 3500)).toBe(3000); // the last rate holds past the end
    expect(w.pages(0, 100_000)).toBe(16000); // W = the largest pages_written
    expect(w.naturalDurationMs).toBe(2500);
    expect(traceWorkload(trace, { workingSetPages: 500 }).pages(0, 2500)).toBe(500);
  });

  // Issue 11's replay goal: a window averaging over a 10× step made a ramp the real run never had.
  it("reads a window between two rates far apart as the step between them, keeping every window's pages", () => {
    const at = (seq: number, s: number, pages: number, elapsed: number | null) =>
      line({
        seq,
        start: new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString(),
        chain_start: elapsed === null,
        pages_written: pages,
        elapsed_ms: elapsed,
      });
    // 0.1 pages/ms, then a window of 5 s with the step to 1 page/ms 1 s into it (0.1·1000 + 1·4000), then 1/ms.
    const stepped = traceOf(
      [at(1, 0, 16000, null), at(2, 1, 100, 1000), at(3, 6, 4100, 5000), at(4, 7, 1000, 1000)].join('\n'),
      'step.jsonl',
    );
    expect(stepped.schedule.segments).toEqual([
      { startMs: 0, endMs: 1000, pagesPerMs: 0.1 },
      { startMs: 1000, endMs: 2000, pagesPerMs: 0.1 },
      { startMs: 2000, endMs: 6000, pagesPerMs: 1 },
      { startMs: 6000, endMs: 7000, pagesPerMs: 1 },
    ]);
    const w = traceWorkload(stepped, { workingSetPages: 1e9 });
    expect([w.pages(0, 1000), w.pages(1000, 6000), w.pages(6000, 7000)]).toEqual([100, 4100, 1000]);
    // Not a step: neighbours less than 2× apart (noise), or a window above both (a burst) stays its average.
    const flat = traceOf(
      [at(1, 0, 16000, null), at(2, 1, 100, 1000), at(3, 6, 700, 5000), at(4, 7, 190, 1000)].join('\n'),
      'noise.jsonl',
    );
    expect(flat.schedule.segments.map((g) => g.pagesPerMs)).toEqual([0.1, 0.14, 0.19]);
    const burst = traceOf(
      [at(1, 0, 16000, null), at(2, 1, 100, 1000), at(3, 6, 9000, 5000), at(4, 7, 1000, 1000)].join('\n'),
      'burst.jsonl',
    );
    expect(burst.schedule.segments.map((g) => g.pagesPerMs)).toEqual([0.1, 1.8, 1]);
  });

  // Held at the rate before it, a step inside a chain start's window replayed at the window's end: always late.
  it("holds a chain start's window at the rate before it, unless a step lies between the rates around it", () => {
    const at = (seq: number, s: number, pages: number, elapsed: number | null, chainStart = elapsed === null) =>
      line({
        seq,
        start: new Date(Date.UTC(2026, 0, 1) + s * 1000).toISOString(),
        chain_start: chainStart,
        pages_written: pages,
        elapsed_ms: elapsed,
      });
    // 0.1 pages/ms, a chain start's 4 s window, then `pagesAfter` per 1 s window.
    const around = (pagesAfter: number) =>
      traceOf(
        [at(1, 0, 16000, null), at(2, 1, 100, 1000), at(3, 5, 16000, 4000, true), at(4, 6, pagesAfter, 1000)].join(
          '\n',
        ),
        `gap-${pagesAfter}.jsonl`,
      ).schedule.segments;
    // Then 1 page/ms, 10× the rate before: the step at 3 s, the window's middle.
    expect(around(1000)).toEqual([
      { startMs: 0, endMs: 3000, pagesPerMs: 0.1 },
      { startMs: 3000, endMs: 5000, pagesPerMs: 1 },
      { startMs: 5000, endMs: 6000, pagesPerMs: 1 },
    ]);
    // Rates less than 2× apart around it: the rate before holds, as it did for every gap.
    expect(around(150)).toEqual([
      { startMs: 0, endMs: 5000, pagesPerMs: 0.1 },
      { startMs: 5000, endMs: 6000, pagesPerMs: 0.15 },
    ]);
  });

  it('keeps how late each checkpoint started after its wait, where it started on the wait', () => {
    const at = (seq: number, ms: number, fields: Record<string, unknown> = {}) =>
      line({
        seq,
        start: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
        pages_written: 100,
        elapsed_ms: seq === 1 ? null : 500,
        chain_start: seq === 1,
        criu_wall_ms: 150,
        delta_ms: 40,
        supervisor_overhead_ms: 10,
        ...fields,
      });
    const trace = traceOf(
      [
        at(1, 0), // first of the run: no wait before it
        at(2, 507, { elapsed_ms: 507 }), // 7 ms late
        at(3, 1019, { elapsed_ms: 512 }), // 12 ms late
        // The previous took 150 + 40 + 10 ms of a 180 ms interval: this one started when it ended.
        at(4, 1219, { elapsed_ms: 200, interval_ms: 180 }),
        at(5, 1720, { elapsed_ms: 501, probe: { trigger: 'aim' } }), // started by the probe, not the wait
        at(6, 2220, { elapsed_ms: 500 }), // on time
        at(7, 2700, { elapsed_ms: 480 }), // early by rounding: counted as on time
      ].join('\n'),
      'late.jsonl',
    );
    expect(trace.lateStartsMs).toEqual([7, 12, 0, 0]);
  });

  it('a malformed file fails with file:line and what is wrong', async () => {
    const path = fixture('malformed.records.jsonl');
    await expect(readTrace(path)).rejects.toThrow(TraceError);
    await expect(readTrace(path)).rejects.toThrow(new RegExp(`^${path.replace(/[.]/g, '\\.')}:3: not a JSON record`));
  });

  it.each([
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: 5, chain_start: undefined }),
      /^f\.jsonl:1: chain_start \(missing\) is not true or false/,
    ],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: 5, schema: 4 }),
      /^f\.jsonl:1: schema 4 is not a records schema this remusd reads/,
    ],
    [
      line({ seq: 1, start: 'yesterday', pages_written: 1, elapsed_ms: 5 }),
      /^f\.jsonl:1: start "yesterday" is not an ISO-8601 time/,
    ],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: -3, elapsed_ms: 5 }),
      /^f\.jsonl:1: pages_written -3 is not a whole number/,
    ],
    [line({ seq: 1, start: '2026-01-01T00:00:00Z', elapsed_ms: 5 }), /^f\.jsonl:1: pages_written \(missing\)/],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: 5, supervisor_overhead_ms: 'x' }),
      /^f\.jsonl:1: supervisor_overhead_ms "x" is not a number of ms/,
    ],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: '5' }),
      /^f\.jsonl:1: elapsed_ms "5" is not a number of ms/,
    ],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: 5, mode: 'full' }),
      /^f\.jsonl:1: a mode full record stores the whole memory/,
    ],
    ['\n[1,2]', /^f\.jsonl:2: expected a JSON object/],
    [
      `${line({ seq: 1, start: '2026-01-01T00:00:01Z', pages_written: 1, elapsed_ms: 5 })}\n${line({ seq: 2, start: '2026-01-01T00:00:00Z', pages_written: 1, elapsed_ms: 5 })}`,
      /^f\.jsonl:2: start .* is not after the previous record's/,
    ],
    [
      line({ seq: 1, start: '2026-01-01T00:00:00Z', pages_written: 100, elapsed_ms: null }),
      /^f\.jsonl: no record measures a dirty set \(1 chain start\)/,
    ],
    ['', /^f\.jsonl: no record measures a dirty set \(0 chain starts\)/],
  ])('rejects %s', (text, message) => {
    expect(() => traceOf(text, 'f.jsonl')).toThrow(message);
  });

  it('an unreadable file names the file', async () => {
    await expect(readTrace('/nonexistent/records.jsonl')).rejects.toThrow(
      /^\/nonexistent\/records\.jsonl: cannot read the records file \(ENOENT\)/,
    );
  });

  // A real records.jsonl: `remusd demo --seconds 15` (mode delta, threshold, band [1, 8] MiB, 200 ms..5 s)
  // on the bundled dirtier at 8000 pages/s for 10 s, then 200 pages/s.
  it('replays a real supervisor run, and the threshold rule on the replay behaves as it did for real', async () => {
    const path = fixture('demo-delta-15s.records.jsonl');
    const real = readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { pages_written: number; size_bytes: number; reason: string; parent: string | null },
      );
    const trace = await readTrace(path);
    // Version 1 records: a chain start is a record with no parent.
    expect(trace.skipped).toBe(real.filter((r) => r.parent === null).length);
    expect(trace.skipped).toBe(real.filter((r) => r.reason.includes('chain start')).length);
    expect(trace.windows + trace.skipped).toBe(real.length);
    expect(trace.maxPagesWritten).toBeGreaterThanOrEqual(16384); // a chain start: the whole 64 MiB
    // The busy phase's rate is the dirtier's 8000 pages/s, the quiet one's about 200.
    expect(trace.schedule.segments[5]!.pagesPerMs * 1000).toBeGreaterThan(7000);
    expect(trace.schedule.segments[5]!.pagesPerMs * 1000).toBeLessThan(9000);
    const quiet = trace.schedule.segments[trace.schedule.segments.length - 1]!.pagesPerMs * 1000;
    expect(quiet).toBeGreaterThan(150);
    expect(quiet).toBeLessThan(250);

    const all = await simulate({
      policy: { kind: 'threshold' },
      band: BAND,
      initialIntervalMs: 500,
      workload: traceWorkload(trace),
      // The run's own costs (CRIU 4.1.1 on a quiet machine), not the default profile's (4.2.1 at load 9).
      cost: calibrate(parseRecords(readFileSync(path, 'utf8'), path))[0]!,
      durationMs: trace.durationMs,
      pageSize: PAGE,
    });
    const records = all.filter((r) => !r.chain_start);
    const summary = summarizeSim([records], trace.durationMs)!;
    const realSizes = real.filter((r) => r.parent !== null).map((r) => r.size_bytes);
    expect(summary.sizeBytes.median / median(realSizes)).toBeGreaterThan(0.9);
    expect(summary.sizeBytes.median / median(realSizes)).toBeLessThan(1.1);
    expect(Math.abs(all.length - real.length)).toBeLessThanOrEqual(real.length * 0.15);
    expect(summary.inBandShare).toBeGreaterThan(0.75);
    expect(summary.intervalMs.min).toBe(200); // busy: shrunk to the minimum, as for real
    expect(records[records.length - 1]!.decision).not.toBe('shrink'); // quiet: growing or holding
  });
});
