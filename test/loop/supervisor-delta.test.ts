import { afterEach, describe, expect, it } from 'vitest';
import { pageSize } from '../../src/criu/probe.js';
import { restore } from '../../src/criu/restore.js';
import { criuLogTail } from '../../src/criu/exec.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { isAlive } from '../../src/process/proc.js';
import type { Progress } from '../../src/workload/progress.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { superviseFor, testSettings } from '../helpers/supervise.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';

const MiB = 2 ** 20;
const RATES = [3000, 100]; // pages per second in phase 0 and phase 1 (see --phases below)
let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

// The workload's phase over every moment the interval before a checkpoint may have covered, when one phase
// covered all of them. The dirty window runs from the previous dump's freeze to this one's, and a freeze
// lies anywhere between its dump's start and the end of its CRIU run, so that is the span checked (plus two
// report periods of 25 ms). Checking only the span between the two starts let a phase change slip in between
// a dump's start and its freeze: 668 pages in 2 s at 100 pages/s, the last ~155 ms at 3000 pages/s.
function phaseOver(record: CheckpointRecord, before: CheckpointRecord, progress: Progress[]): number | undefined {
  const end = Date.parse(record.start);
  const begin = end - (record.elapsed_ms as number);
  const inside = progress.filter(
    (p) => p.realMs >= begin - before.criu_wall_ms - 50 && p.realMs <= end + record.criu_wall_ms + 50,
  );
  const phases = new Set(inside.map((p) => p.phase));
  return inside.length >= 2 && phases.size === 1 ? inside[0]!.phase : undefined;
}

describe('supervisor in delta mode on real CRIU (no soft-dirty needed)', () => {
  it('sizes are the pages the workload dirtied, the threshold policy follows the phases, and the chain restores', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '32', '--phases', `${RATES[0]}:4,${RATES[1]}:4`, '--report-ms', '25']);
    const root = await imagesDir();
    const band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 100, maxMs: 2000 };
    const { records } = await superviseFor({
      criu,
      pid: workload.pid,
      root,
      count: 28,
      initialIntervalMs: 500,
      pageSize: size,
      mode: 'delta',
      settings: () => testSettings(band, { retention: { keep: 1000, newChainEvery: 1000, maxChainBytes: undefined } }),
    });
    const progress = (await workload.read()).progress;
    console.log(' seq  phase  elapsed  pages_written  expected  criu_pages  decision');
    const ratios: number[] = [];
    for (const [i, record] of records.entries()) {
      if (i === 0) continue;
      const before = records[i - 1]!;
      const phase = phaseOver(record, before, progress);
      const elapsed = record.elapsed_ms as number;
      const expected = phase === undefined ? undefined : (RATES[phase]! * elapsed) / 1000;
      console.log(
        `${String(record.seq).padStart(4)}  ${String(phase ?? '-').padStart(5)}  ${String(elapsed).padStart(7)}  ` +
          `${String(record.pages_written).padStart(13)}  ${expected?.toFixed(0).padStart(8) ?? '       -'}  ${String(record.criu_pages_written).padStart(10)}  ${record.decision}`,
      );
      expect(record.mode).toBe('delta');
      expect(record.parent).not.toBeNull(); // every link after the first builds on its predecessor
      expect(record.size_bytes).toBe(record.pages_written * size);
      expect(record.criu_pages_written as number).toBeGreaterThan((32 * MiB) / size); // CRIU itself wrote everything
      if (expected === undefined) continue;
      // Hard bounds: each dump froze the workload somewhere between its start and the end of its CRIU run,
      // so the dirty window lies within elapsed ∓ those runs; the dirtier writes exactly rate × time, and the
      // runtime touches a few pages of its own (stack, libc): + 16 pages, and 5 % for the pacing.
      const rate = RATES[phase!]! / 1000;
      const lowest = rate * Math.max(0, elapsed - before.criu_wall_ms) * 0.95;
      const highest = rate * (elapsed + record.criu_wall_ms) * 1.05 + 16;
      expect(record.pages_written, `seq ${record.seq}`).toBeGreaterThanOrEqual(Math.floor(lowest));
      expect(record.pages_written, `seq ${record.seq}`).toBeLessThanOrEqual(Math.ceil(highest));
      ratios.push(record.pages_written / expected);
    }
    // Typical agreement, which load cannot blur much: the median ratio to rate × elapsed is within 10 %.
    const sorted = [...ratios].sort((a, b) => a - b);
    const medianRatio = sorted[sorted.length >> 1]!;
    console.log(
      `median pages_written / (rate × elapsed) over ${ratios.length} one-phase intervals: ${medianRatio.toFixed(3)}`,
    );
    expect(Math.abs(medianRatio - 1)).toBeLessThan(0.1);
    const checked = ratios.length;
    expect(checked).toBeGreaterThanOrEqual(10);
    // The threshold rule, on sizes that are real dirty sets: above lmax shrink (or at min), below lmin grow (or at max).
    expect(records[0]!.decision).toBe('hold'); // the first checkpoint is full: no dirty set, no decision
    expect(records[0]!.reason).toContain('chain start');
    for (const record of records.slice(1)) {
      if (record.size_bytes > band.lmaxBytes)
        expect(record.decision === 'shrink' || record.interval_ms === band.minMs).toBe(true);
      if (record.size_bytes < band.lminBytes)
        expect(record.decision === 'grow' || record.interval_ms === band.maxMs).toBe(true);
    }
    const decided = (decision: string, phase: number) =>
      records.some((r, i) => i > 0 && r.decision === decision && phaseOver(r, records[i - 1]!, progress) === phase);
    expect(decided('shrink', 0)).toBe(true);
    expect(decided('grow', 1)).toBe(true);

    // The newest link of the chain, restored by CRIU alone, continues the workload's state exactly.
    const newest = records.at(-1)!;
    const reportedBefore = progress.filter((p) => p.realMs < Date.parse(newest.start)).at(-1)!;
    const pid = workload.pid;
    await killAndWait(pid);
    const linesBefore = (await workload.read()).progress.length;
    const restored = await restore(criu, { imagesDir: newest.dir });
    expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
    expect(await isAlive(pid)).toBe(true);
    const after = await workload.waitForProgress(4);
    expect(after.corrupt).toEqual([]);
    const resumed = after.progress.slice(linesBefore);
    expect(resumed[0]!.writes).toBeGreaterThanOrEqual(reportedBefore.writes);
    expect(resumed.at(-1)!.writes).toBeGreaterThan(resumed[0]!.writes);
  });
});
