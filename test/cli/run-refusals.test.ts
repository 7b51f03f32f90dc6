import { spawn } from 'node:child_process';
import { access, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { pidNamespaceInit } from '../../src/process/pid-namespace.js';
import { killAndWait } from '../helpers/workload.js';

const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
let config: string;
let images: string;
// The CLI's own start-up on this machine, measured in this file: the refusals are bounded against it.
let startupMs: number;

beforeAll(async () => {
  const root = await imagesDir();
  images = join(root, 'images');
  config = join(root, 'remusd.yaml');
  await writeFile(config, 'checkpoint: { mode: full, dir: ./images }\n');
  const started = performance.now();
  await runCli(['run', '--help']);
  startupMs = performance.now() - started;
});

const children: number[] = [];
afterAll(async () => Promise.all(children.map((pid) => killAndWait(pid))));

// Runs a refusal and checks what every refusal shares: exit 2 quickly, the reason, and no CRIU run at all.
async function expectRefused(
  run: () => Promise<{ exitCode?: number; stderr: unknown }>,
  reason: string | RegExp,
): Promise<void> {
  const started = performance.now();
  const result = await run();
  const elapsedMs = performance.now() - started;
  const stderr = String(result.stderr);
  expect(result.exitCode, stderr).toBe(2);
  expect(stderr).toMatch(reason);
  expect(stderr).not.toContain('CRIU:'); // refused before CRIU was even located
  await expect(access(images)).rejects.toThrow(); // nothing was dumped, not even the images dir made
  // "Within a second" of the CLI's own start-up; the bound doubles start-up too, since load varies from run to run.
  expect(elapsedMs).toBeLessThan(2 * startupMs + 1000);
}

describe('remusd run --pid refuses what cannot work, at once (exit 2)', () => {
  it('pid 1', async () => {
    await expectRefused(
      () => runCli(['run', '--config', config, '--pid', '1']),
      /--pid 1 is init: CRIU cannot dump it/,
    );
  });

  it('--pid-namespace with --pid: it starts -- CMD, and says how to attach to a namespace init instead', async () => {
    await expectRefused(
      () => runCli(['run', '--config', config, '--pid-namespace', '--pid', String(process.pid)]),
      /--pid-namespace starts -- CMD in a pid namespace; to attach, start the workload with `unshare --pid --fork setsid CMD` and give --pid the init/,
    );
  });

  it('unshare instead of the pid namespace init it forked, naming the init', async () => {
    // CRIU cannot dump the tree ("Can't dump nested pid namespace"): refused before any dump, with the init to give.
    const unshare = spawn('unshare', ['--pid', '--fork', 'setsid', 'sleep', '60'], { stdio: 'ignore', detached: true });
    children.push(unshare.pid!);
    const init = await pidNamespaceInit(unshare.pid!);
    children.unshift(init); // killed first: unshare then exits with it
    await expectRefused(
      () => runCli(['run', '--config', config, '--pid', String(unshare.pid)]),
      new RegExp(`--pid ${unshare.pid} has a descendant, ${init}, in a pid namespace of its own.*give --pid ${init}`),
    );
  });

  it('a process that is not a session leader, naming setsid and --shell-job', async () => {
    const child = spawn('sleep', ['60'], { stdio: 'ignore' }); // same session as this test: not a leader
    children.push(child.pid!);
    await expectRefused(
      () => runCli(['run', '--config', config, '--pid', String(child.pid)]),
      new RegExp(`--pid ${child.pid} is not a session leader \\(it belongs to session \\d+\\).*setsid.*--shell-job`),
    );
  });

  it("remusd's own pid", async () => {
    // exec: the shell's $$ becomes remusd's own pid.
    await expectRefused(
      () => execa('sh', ['-c', `exec "${CLI}" run --config "${config}" --pid $$`], { reject: false }),
      /is remusd itself/,
    );
  });

  it('an ancestor of remusd (the shell that started it)', async () => {
    // `; exit $?` keeps the shell from exec'ing remusd, so $$ stays its parent.
    await expectRefused(
      () => execa('sh', ['-c', `"${CLI}" run --config "${config}" --pid $$; exit $?`], { reject: false }),
      /is an ancestor of remusd/,
    );
  });

  it('a pid with no process', async () => {
    const taken = new Set((await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number));
    let pid = 4_000_000;
    while (taken.has(pid)) pid += 1;
    await expectRefused(
      () => runCli(['run', '--config', config, '--pid', String(pid)]),
      new RegExp(`--pid ${pid} does not exist`),
    );
  });

  it('--pid abc', async () => {
    await expectRefused(() => runCli(['run', '--config', config, '--pid', 'abc']), /--pid "abc" is not a process id/);
  });
});
