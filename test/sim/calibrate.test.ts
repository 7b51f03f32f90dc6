import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/loop/record-reader.js';
import { calibrate } from '../../src/sim/calibrate.js';
import { checkpointCost } from '../../src/sim/cost.js';
import { fixture } from './helpers.js';

const read = (name: string) => parseRecords(readFileSync(fixture(name), 'utf8'), name);

describe('calibrate (a cost model per mode from real records)', () => {
  it('fits mode delta against what CRIU wrote, not what the delta kept, and the rewrite apart', () => {
    const records = read('demo-delta-15s.records.jsonl');
    const [delta] = calibrate(records);
    expect(delta!.mode).toBe('delta');
    // CRIU froze the demo's 64 MiB workload for 26–38 ms whatever the delta kept (1–16 MiB).
    const frozen = checkpointCost(delta!, { scanned: 16_424, criuWritten: 16_411, rewritten: 700 }).frozenUs / 1000;
    expect(frozen).toBeGreaterThan(24);
    expect(frozen).toBeLessThan(34);
    expect(delta!.frozen.fit!.samples).toBe(records.length);
    expect(delta!.rewrite.fit!.samples).toBe(records.length);
    // The rewrite writes the changed pages: its cost grows with them.
    expect(delta!.rewrite.perWrittenPageUs).toBeGreaterThan(0);
  });

  it('pools the CRIU costs of modes full and delta (the same dump) for a mode of one memory size only', () => {
    // CRIU 4.1.1: the demo (mode delta, 64 MiB only) and full dumps of 1–256 MiB. Delta's own records give no
    // slope; the pooled fit does. Full, of several sizes, is fitted on its own.
    const old = calibrate(
      ['demo-delta-15s', 'full-1mib', 'full-16mib', 'full-64mib', 'full-256mib'].flatMap((n) =>
        read(`${n}.records.jsonl`),
      ),
    );
    const delta = old.find((m) => m.mode === 'delta')!;
    const full = old.find((m) => m.mode === 'full')!;
    expect(delta.frozen.perWrittenPageUs).toBeGreaterThan(1);
    expect(delta.frozen).not.toEqual(full.frozen);
    expect(calibrate(read('demo-delta-15s.records.jsonl'))[0]!.frozen.perWrittenPageUs).toBe(0);
    expect(full.rewrite).toEqual({ baseMs: 0, perScannedPageUs: 0, perWrittenPageUs: 0 });
    // CRIU 4.2.1: both modes at several sizes, each fitted alone (their lines differ: on an idle machine a delta
    // dump froze for 15 ms + 1.77 µs/page, a full one for 12 ms + 2.11 µs/page; at load 9 delta froze longer).
    const sized = calibrate(
      ['full-1mib', 'full-16mib', 'full-64mib', 'full-256mib', 'delta-16mib', 'delta-64mib', 'delta-256mib'].flatMap(
        (n) => read(`criu-4.2.1/${n}.records.jsonl`),
      ),
    );
    const [delta421, full421] = (['delta', 'full'] as const).map((mode) => sized.find((m) => m.mode === mode)!);
    expect(delta421!.frozen).not.toEqual(full421!.frozen);
    expect(delta421!.frozen.perWrittenPageUs).toBeGreaterThan(1);
    expect(full421!.frozen.perWrittenPageUs).toBeGreaterThan(1);
  });

  it('refuses simulated records and records without the fields it needs, naming the line', () => {
    const sim =
      '{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"sim","interval_ms":1,"next_interval_ms":1,"pages_written":1,"size_bytes":4096,"pages_scanned":1,"frozen_us":1,"criu_wall_ms":1}';
    expect(() => calibrate(parseRecords(sim, 'sim.jsonl'))).toThrow(/sim\.jsonl:1: a simulated record \(mode sim\)/);
    const noScanned =
      '{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"full","interval_ms":1,"next_interval_ms":1,"pages_written":1,"size_bytes":4096,"frozen_us":1,"criu_wall_ms":1}';
    expect(() => calibrate(parseRecords(noScanned, 'a.jsonl'))).toThrow(
      'a.jsonl:1: pages_scanned (missing) is needed to calibrate',
    );
    const deltaWithoutCriuCount =
      '{"seq":1,"start":"2026-01-01T00:00:00Z","mode":"delta","interval_ms":1,"next_interval_ms":1,"pages_written":1,"size_bytes":4096,"pages_scanned":1,"frozen_us":1,"criu_wall_ms":1,"delta_ms":1}';
    expect(() => calibrate(parseRecords(deltaWithoutCriuCount, 'd.jsonl'))).toThrow(
      /d\.jsonl:1: criu_pages_written \(missing\)/,
    );
    expect(() => calibrate([])).toThrow(/no records/);
  });
});
