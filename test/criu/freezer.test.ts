import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dumpArgv } from '../../src/criu/dump.js';
import { recoverAfterCriu } from '../../src/criu/recover.js';
import { isFrozen, thaw } from '../../src/process/freezer.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { sleep } from '../helpers/wait.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
let cgroup: string | undefined;
afterEach(async () => {
  if (cgroup !== undefined) await thaw(cgroup).catch(() => undefined);
  await workload?.stop();
  workload = undefined;
  if (cgroup !== undefined) await rmdir(cgroup).catch(() => undefined);
  cgroup = undefined;
});

// cgroup v1's freezer hierarchy where it is mounted (this machine), else the v2 tree.
function freezerRoot(): string {
  if (existsSync('/sys/fs/cgroup/freezer')) return '/sys/fs/cgroup/freezer';
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return '/sys/fs/cgroup';
  throw new Error('no freezer cgroup: mount cgroup v2 on /sys/fs/cgroup or the v1 freezer on /sys/fs/cgroup/freezer');
}

// Dumps with --freeze-cgroup until a SIGKILL lands while CRIU has the cgroup frozen (between its freeze and
// the thaw after seizing, a few ms): polls the cgroup's state in a tight loop and kills CRIU at FROZEN.
async function killCriuWhileFrozen(pid: number, cg: string): Promise<void> {
  const criu = await testCriu();
  const state = existsSync(join(cg, 'freezer.state')) ? join(cg, 'freezer.state') : join(cg, 'cgroup.freeze');
  for (let attempt = 0; attempt < 10; attempt++) {
    const dir = await imagesDir('remusd-freezer-');
    const argv = dumpArgv({ kind: 'full', pid, imagesDir: dir, extraArgs: ['--freeze-cgroup', cg] });
    const child = spawn(criu.command, [...argv, '-o', join(dir, 'criu.log')], { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = performance.now() + 5000;
    for (let reads = 1; performance.now() < deadline; reads++) {
      const now = readFileSync(state, 'utf8').trim();
      if (now === 'FROZEN' || now === '1') {
        child.kill('SIGKILL');
        break;
      }
      if (reads % 256 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (child.exitCode !== null || child.signalCode !== null) break;
    }
    child.kill('SIGKILL');
    await exited;
    if ((await isFrozen(cg)) === true) return;
  }
  throw new Error(`no kill of CRIU landed while it had ${cg} frozen in 10 dumps`);
}

describe('CRIU killed while it has the freezer cgroup frozen (criu.extra_args: --freeze-cgroup)', () => {
  it('leaves the workload frozen for good; the recovery thaws it and it runs on intact', async () => {
    cgroup = join(freezerRoot(), `remusd-freezer-test-${process.pid}`);
    await mkdir(cgroup);
    workload = await startWorkload(['--mib', '16', '--phases', '2000:1000000', '--report-ms', '20']);
    await writeFile(join(cgroup, 'cgroup.procs'), String(workload.pid));
    await killCriuWhileFrozen(workload.pid, cgroup);

    // The negative control: nothing thaws it by itself. It reports every 20 ms when it runs.
    const before = (await workload.read()).progress.length;
    await sleep(1000);
    expect((await workload.read()).progress.length).toBe(before);
    expect(await isFrozen(cgroup)).toBe(true);

    const recovery = await recoverAfterCriu(workload.pid, {
      stoppedBefore: false,
      freezer: { cgroup, frozenBefore: false },
    });
    expect(recovery.actions.join(' ')).toMatch(/thawed the freezer cgroup/);
    expect(await isFrozen(cgroup)).toBe(false);
    await expectRunningOn(workload);
  });

  it('leaves a cgroup frozen before CRIU ran, or frozen on purpose, as it is', async () => {
    cgroup = join(freezerRoot(), `remusd-freezer-test-${process.pid}`);
    await mkdir(cgroup);
    workload = await startWorkload(['--mib', '8', '--phases', '2000:1000000', '--report-ms', '20']);
    await writeFile(join(cgroup, 'cgroup.procs'), String(workload.pid));
    await writeFile(
      join(cgroup, existsSync(join(cgroup, 'freezer.state')) ? 'freezer.state' : 'cgroup.freeze'),
      existsSync(join(cgroup, 'freezer.state')) ? 'FROZEN' : '1',
    );
    const before = await recoverAfterCriu(workload.pid, {
      stoppedBefore: false,
      freezer: { cgroup, frozenBefore: true },
    });
    expect(before.actions).toEqual([]);
    const fenced = await recoverAfterCriu(workload.pid, {
      stoppedBefore: false,
      stoppedOnPurpose: 'fenced',
      freezer: { cgroup, frozenBefore: false },
    });
    expect(fenced.actions.join(' ')).toMatch(/left the freezer cgroup .* frozen: fenced/);
    expect(await isFrozen(cgroup)).toBe(true);
  });
});
