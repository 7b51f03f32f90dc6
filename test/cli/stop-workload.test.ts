// --stop-workload: SIGTERM, then SIGKILL of the tree after --stop-grace. The init of a pid namespace
// (--pid-namespace) without a SIGTERM handler never gets a SIGTERM sent from outside its namespace (the kernel
// drops it): with SIGTERM alone, `sleep` as such an init kept running after remusd had exited, "stopped".
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/process/proc.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait } from '../helpers/workload.js';

const started: number[] = [];
afterEach(async () => {
  for (const pid of started.splice(0)) await killAndWait(pid);
});

// `remusd run` with one full checkpoint and ARGS (ending in `-- sleep 600`); its result and the workload's pid.
async function runSleep(args: string[]) {
  const criu = await testCriu();
  const root = await imagesDir('remusd-stop-');
  const config = join(root, 'remusd.yaml');
  await writeFile(config, `checkpoint: { mode: full, dir: ${join(root, 'images')} }\n`);
  const run = await runCli(['run', '--config', config, '--criu', criu.command, '--max-checkpoints', '1', ...args], {
    timeoutMs: 120_000,
  });
  const pid = Number(/started .* as pid (\d+)/.exec(run.stderr)?.[1]);
  if (Number.isInteger(pid) && pid > 0) started.push(pid);
  return { run, pid };
}

describe('--stop-workload', () => {
  it('a pid namespace init that ignores SIGTERM gets SIGKILL after --stop-grace, and the log says so', async () => {
    const { run, pid } = await runSleep([
      '--pid-namespace',
      '--stop-workload',
      '--stop-grace',
      '1s',
      '--',
      'sleep',
      '600',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(pid).toBeGreaterThan(0);
    // The premise: SIGTERM alone did not stop it (the kernel dropped it at the namespace's init).
    expect(run.stderr).toContain(`workload ${pid} still runs 1000 ms after SIGTERM`);
    expect(run.stderr).toContain(`workload ${pid} killed (SIGKILL)`);
    expect(await isAlive(pid)).toBe(false);
  });

  it('a workload that exits on SIGTERM gets no SIGKILL', async () => {
    const { run, pid } = await runSleep(['--stop-workload', '--', 'sleep', '600']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toMatch(new RegExp(`workload ${pid} exited \\d+ ms after SIGTERM`));
    expect(run.stderr).not.toContain('SIGKILL');
    expect(await isAlive(pid)).toBe(false);
  });

  it('--stop-grace without --stop-workload is a usage error', async () => {
    const run = await runCli(['run', '--stop-grace', '1s', '--', 'sleep', '1']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('--stop-grace applies to --stop-workload');
  });
});
