// Failover that does not depend on the workload's host pids being free. A backup machine that runs for months
// runs unrelated processes, and any of them may hold a pid of the checkpointed tree: CRIU then cannot restore
// it with its pids ("Can't fork for PID: File exists"). A workload run as the init of a pid namespace of its
// own is restored into a new pid namespace instead: same pids inside, new host pids. Real CRIU throughout:
// `remusd run --pid INIT` checkpoints the bundled dirtier (it checks every page of its memory at each report,
// so a wrong page after the restore says CORRUPT), the workload dies, another process takes its host pid,
// and `remusd failover` restores.
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CriuLocation } from '../../src/criu/locate.js';
import { isAlive } from '../../src/process/proc.js';
import { runCheckpoints, runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { namespacePids, occupyPid, type PidHolder } from '../helpers/pids.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';

let criu: CriuLocation;
// What each test started, released after it whatever happened: the holder, a restored workload, temp dirs.
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  criu = await testCriu();
});

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Starts the dirtier (as a pid namespace's init, or not), lets `remusd run` take three delta checkpoints of
 * it, kills it, and starts an unrelated process with its host pid: the backup's situation.
 */
async function checkpointedThenPidTaken(
  pidNamespace: boolean,
): Promise<{ workload: TestWorkload; images: string; holder: PidHolder }> {
  const workload = await startWorkload(['--mib', '16', '--phases', '100:1000000', '--report-ms', '50'], {
    pidNamespace,
  });
  // After the kill below its pid is the holder's (or free): never signalled again, only its directory removed.
  cleanups.push(() => rm(workload.dir, { recursive: true, force: true }));
  const root = await imagesDir('remusd-pidns-');
  const images = join(root, 'images');
  const supervised = await runCheckpoints(
    root,
    'interval: { initial: 300ms, min: 200ms, max: 1s }\ncheckpoint: { mode: delta, dir: ./images }\n',
    workload.pid,
    3,
    ['--criu', criu.command],
  );
  expect(supervised.exitCode, supervised.stderr).toBe(0);
  await killAndWait(workload.pid); // the primary dies
  const holder = await occupyPid(workload.pid);
  cleanups.push(() => holder.release());
  return { workload, images, holder };
}

describe('failover when the workload host pid is held by another process (real CRIU)', () => {
  it('a pid namespace init is restored into a new pid namespace: a new host pid, pid 1 inside, every page intact', async () => {
    const { workload, images, holder } = await checkpointedThenPidTaken(true);
    const before = await workload.read();
    const failover = await runCli(['failover', '--dir', images, '--json', '--criu', criu.command]);
    expect(failover.exitCode, failover.stderr).toBe(0);
    const result = JSON.parse(failover.stdout) as { pid: number; name: string };
    cleanups.push(() => killAndWait(result.pid));
    expect(result.pid).not.toBe(workload.pid);
    expect(await namespacePids(result.pid)).toEqual([result.pid, 1]);
    // The restored dirtier reports on, each report after checking every page; the holder was left alone.
    const after = await workload.waitForProgress(3);
    expect(after.corrupt).toEqual([]);
    expect(after.progress.length).toBeGreaterThan(before.progress.length);
    expect(await isAlive(holder.pid)).toBe(true);
    // failover.json names the pid that runs now, not the dead one.
    const report = JSON.parse(await readFile(join(images, 'failover.json'), 'utf8')) as { ok: boolean; pid: number };
    expect(report).toMatchObject({ ok: true, pid: result.pid });
    console.log(
      `pid namespace: checkpoint ${result.name} restored as host pid ${result.pid} (pid 1 inside) while pid ${holder.pid} is held`,
    );
  });

  it('negative control: the same workload without its own pid namespace cannot be restored, and the holder is named', async () => {
    const { workload, images, holder } = await checkpointedThenPidTaken(false);
    const failover = await runCli(['failover', '--dir', images, '--json', '--criu', criu.command]);
    expect(failover.exitCode).toBe(1);
    expect(failover.stderr).toMatch(new RegExp(`Can't fork for ${holder.pid}: File exists`));
    expect(failover.stderr).toContain(`its pids in use now: ${holder.pid} (state S`);
    expect(await isAlive(holder.pid)).toBe(true);
    const report = JSON.parse(await readFile(join(images, 'failover.json'), 'utf8')) as { ok: boolean };
    expect(report.ok).toBe(false);
    // Nothing of the workload runs: no report after the checkpoints' (it would be a restored copy).
    const lines = (await workload.read()).progress.length;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await workload.read()).progress.length).toBe(lines);
  });
});
