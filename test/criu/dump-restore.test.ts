import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { criuLogTail } from '../../src/criu/exec.js';
import { presentPages, readPagemapFile, readStatsDir } from '../../src/criu/images/index.js';
import { pageSize } from '../../src/criu/probe.js';
import { restore } from '../../src/criu/restore.js';
import { isAlive } from '../../src/process/proc.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

describe('real CRIU: full dump --leave-running and restore of the bundled workload', () => {
  it('writes stats-dump and pagemaps that agree with the pages images, and the workload keeps running', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '32', '--phases', '2000:1000000', '--report-ms', '50']);
    const dir = await imagesDir();
    const run = await dump(criu, { kind: 'full', pid: workload.pid, imagesDir: dir });
    expect(run.exitCode, await criuLogTail(run.logFile)).toBe(0);

    const { dump: stats } = await readStatsDir(dir);
    expect(stats).toBeDefined();
    const files = await readdir(dir);
    const pagesImageBytes = (
      await Promise.all(
        files.filter((f) => /^pages-\d+\.img$/.test(f)).map(async (f) => (await stat(join(dir, f))).size),
      )
    ).reduce((a, b) => a + b, 0);
    const pagemapPages = (
      await Promise.all(
        files
          .filter((f) => /^pagemap-\d+\.img$/.test(f))
          .map(async (f) => presentPages(await readPagemapFile(join(dir, f)))),
      )
    ).reduce((a, b) => a + b, 0);

    expect(stats!.pages_written).toBeGreaterThan((32 * 1024 * 1024) / size); // the whole 32 MiB buffer, plus the rest
    expect(stats!.pages_written * size).toBe(pagesImageBytes);
    expect(pagemapPages).toBe(stats!.pages_written);
    expect(stats!.frozen_time).toBeGreaterThan(0);
    expect(stats!.pages_scanned).toBeGreaterThanOrEqual(stats!.pages_written);

    // --leave-running: the same process goes on making progress after the dump.
    expect(await isAlive(workload.pid)).toBe(true);
    const before = (await workload.read()).progress.at(-1)!;
    const after = (await workload.waitForProgress(3)).progress.at(-1)!;
    expect(after.writes).toBeGreaterThan(before.writes);
  });

  it('restores from a full dump: same pid, state continues from the checkpoint, memory intact', async () => {
    const criu = await testCriu();
    workload = await startWorkload(['--mib', '16', '--phases', '4000:1000000', '--report-ms', '50']);
    const dir = await imagesDir();
    const beforeDump = (await workload.read()).progress.at(-1)!;
    const run = await dump(criu, { kind: 'full', pid: workload.pid, imagesDir: dir });
    expect(run.exitCode, await criuLogTail(run.logFile)).toBe(0);
    await workload.waitForProgress(2);

    const pid = workload.pid;
    await killAndWait(pid);
    expect(await isAlive(pid)).toBe(false);
    const linesBeforeRestore = (await workload.read()).progress.length;

    const restored = await restore(criu, { imagesDir: dir });
    expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
    expect(await isAlive(pid)).toBe(true); // CRIU restores the original pid

    const output = await workload.waitForProgress(3);
    const afterRestore = output.progress.slice(linesBeforeRestore);
    expect(output.corrupt).toEqual([]); // every page checked against the in-memory sum
    // The restored process resumes from the checkpoint's state: at least what it had reported before the dump,
    // and it goes on writing.
    expect(afterRestore[0]!.writes).toBeGreaterThanOrEqual(beforeDump.writes);
    expect(afterRestore.at(-1)!.writes).toBeGreaterThan(afterRestore[0]!.writes);
    expect(afterRestore[0]!.ticks).toBeGreaterThanOrEqual(beforeDump.ticks);

    // CRIU wrote stats-restore beside the images: every dumped page came back.
    const { dump: dumped, restore: restoredStats } = await readStatsDir(dir);
    expect(restoredStats).toBeDefined();
    expect(restoredStats!.pages_restored).toBe(dumped!.pages_written);
    expect(restoredStats!.restore_time).toBeGreaterThan(0);
  });
});
