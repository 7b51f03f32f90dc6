import { readdir, stat, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { criuLogTail, describeCriuEnd } from '../../src/criu/exec.js';
import { restore } from '../../src/criu/restore.js';
import { isAlive } from '../../src/process/proc.js';
import { treeMembers } from '../../src/process/tree.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

describe('real CRIU: a restore that hangs is killed with everything it forked', () => {
  // Seen before this guard: `criu restore -d` of a truncated pages image forks the workload's root task,
  // which calls setsid() and then spins at 100 % CPU holding the workload's pid while CRIU waits forever;
  // killing CRIU alone orphaned it. (failover verifies the images first and never gets here; this calls
  // CRIU directly, as a hand-made or unverified restore would.)
  it("times out, kills CRIU and the half-restored task (which had left CRIU's group), and reports the log", async () => {
    const criu = await testCriu();
    workload = await startWorkload(['--mib', '16', '--phases', '200:1000000', '--report-ms', '100']);
    const dir = await imagesDir();
    const dumped = await dump(criu, { kind: 'full', pid: workload.pid, imagesDir: dir });
    expect(dumped.exitCode, await criuLogTail(dumped.logFile)).toBe(0);
    const pages = (await readdir(dir)).filter((f) => /^pages-\d+\.img$/.test(f));
    expect(pages).toHaveLength(1);
    await truncate(join(dir, pages[0]!), Math.floor((await stat(join(dir, pages[0]!))).size / 2));
    const pid = workload.pid;
    await killAndWait(pid);

    const run = await restore(criu, { imagesDir: dir, logLevel: 4, timeoutMs: 4_000 });
    expect(
      run.timedOut,
      `CRIU did not hang this time: ${describeCriuEnd(run)}\n${await criuLogTail(run.logFile)}`,
    ).toBe(true);
    expect(run.killed).toContain(pid); // the restored root, outside CRIU's group
    const criuPid = run.killed!.find((p) => p !== pid)!;
    for (let i = 0; i < 100 && (await isAlive(pid)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await isAlive(pid)).toBe(false);
    expect(await treeMembers(criuPid, criuPid)).toEqual([]);
    const tail = await criuLogTail(run.logFile);
    expect(tail.trim()).not.toBe('');
    expect(tail).not.toMatch(/is empty|no CRIU log/);
    console.log(
      `restore of a truncated pages image: ${describeCriuEnd(run)}; log tail:\n${tail.split('\n').slice(-3).join('\n')}`,
    );
  });
});
