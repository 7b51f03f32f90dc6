import { readdir } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { readStatsDir } from '../../src/criu/images/index.js';
import { pageSize } from '../../src/criu/probe.js';
import { checkpointSizeBytes } from '../../src/model/stats.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { superviseFor, testSettings } from '../helpers/supervise.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

const MiB = 2 ** 20;
let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

describe('supervisor on real CRIU (mode full)', () => {
  it("records match each checkpoint's stats-dump, sizes above lmax shrink the interval down to the clamp, and the workload never stalls", async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '24', '--phases', '1000:1000000', '--report-ms', '20']);
    const root = await imagesDir();
    // A full dump of a 24 MiB workload is > 24 MiB: always above lmax = 4 MiB.
    const band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 100, maxMs: 2000 };
    const { exit, records } = await superviseFor({
      criu,
      pid: workload.pid,
      root,
      count: 6,
      initialIntervalMs: 800,
      settings: () => testSettings(band),
      pageSize: size,
    });
    expect(exit.reason).toBe('stopped');
    expect(records.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);

    // How long each dump stopped the workload: CRIU's freezing (stopping every thread) and then the frozen
    // time it reports. The frozen time alone left the freezing out, and under load freezing alone can take
    // longer than the margin below: the bound on the workload's pauses could then not hold.
    let maxStoppedMs = 0;
    for (const record of records) {
      const { dump } = await readStatsDir(record.dir);
      maxStoppedMs = Math.max(maxStoppedMs, (dump!.freezing_time + dump!.frozen_time) / 1000);
      expect(record.size_bytes).toBe(checkpointSizeBytes(dump!, size));
      expect(record.pages_written).toBe(dump!.pages_written);
      expect(record.frozen_us).toBe(dump!.frozen_time);
      expect(record.mode).toBe('full');
      expect(record.size_bytes).toBeGreaterThan(band.lmaxBytes);
      expect(record.decision === 'shrink' || record.reason.includes('min')).toBe(true);
    }
    // 800 → 400 → 200 → 100 (clamp) → 100 …
    expect(records.map((r) => r.interval_ms)).toEqual([800, 400, 200, 100, 100, 100]);
    expect(records.at(-1)!.next_interval_ms).toBe(100);
    // Start-to-start spacing follows the interval in force (overruns aside).
    for (const [i, record] of records.entries()) {
      if (i === 0 || records[i - 1]!.overrun) continue;
      expect(record.elapsed_ms as number).toBeGreaterThanOrEqual(records[i - 1]!.next_interval_ms - 5);
    }
    // Completed checkpoints only, renamed into place; `latest` names the newest.
    const names = (await readdir(root)).filter((n) => !n.startsWith('.'));
    expect(names).toContain('latest');
    expect(names.filter((n) => /^\d{8}$/.test(n))).toHaveLength(6);

    // The workload ran throughout: its reports (every 20 ms) never paused longer than the longest stop + margin.
    // A stop left between checkpoints would last at least the next interval (100-800 ms here).
    const progress = (await workload.read()).progress;
    const firstStart = Date.parse(records[0]!.start);
    const during = progress.filter((p) => p.realMs >= firstStart);
    expect(during.length).toBeGreaterThan(20);
    const gaps = during.slice(1).map((p, i) => p.tMs - during[i]!.tMs);
    expect(Math.max(...gaps)).toBeLessThan(maxStoppedMs + 150);
    expect(during.at(-1)!.writes).toBeGreaterThan(during[0]!.writes);
  });

  it('sizes below lmin grow the interval up to the clamp', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '4', '--phases', '100:1000000']);
    const root = await imagesDir();
    const band = { lminBytes: 512 * MiB, lmaxBytes: 1024 * MiB, minMs: 50, maxMs: 400 };
    const { records } = await superviseFor({
      criu,
      pid: workload.pid,
      root,
      count: 5,
      initialIntervalMs: 100,
      settings: () => testSettings(band),
      pageSize: size,
    });
    expect(records.every((r) => r.size_bytes < band.lminBytes)).toBe(true);
    expect(records.map((r) => r.next_interval_ms)).toEqual([200, 400, 400, 400, 400]);
    expect(records.slice(0, 2).every((r) => r.decision === 'grow')).toBe(true);
    expect(records.slice(2).every((r) => r.reason.includes('max'))).toBe(true);
  });
});
