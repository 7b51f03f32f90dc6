// `remusd run` with a network section, around the workload: --pid must be inside the namespace, a
// namespace left over from a crash is reused with a log line, and the namespace goes when the workload does.

import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { openServiceNetwork } from '../../src/net/index.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { networkPlan, networkYaml } from '../helpers/net.js';
import { killAndWait } from '../helpers/workload.js';

const pids: number[] = [];
afterAll(async () => Promise.all(pids.map((pid) => killAndWait(pid))));

async function config(network: string): Promise<string> {
  const root = await imagesDir();
  const path = join(root, 'remusd.yaml');
  await writeFile(
    path,
    `interval: { initial: 100ms, min: 100ms, max: 1s }\ncheckpoint: { mode: full, dir: ./images }\n${network}`,
  );
  return path;
}

const namespaces = async () => (await execa('ip', ['netns', 'list'])).stdout;

describe('remusd run with a network section', () => {
  it('--pid must be in the namespace: a missing namespace or a process outside it is exit 2 with the reason', async () => {
    const { primary } = networkPlan('rn', '10.71');
    const outside = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' }); // a session leader in the host's namespace
    pids.push(outside.pid!);
    const path = await config(networkYaml(primary));
    const missing = await runCli(['run', '--config', path, '--pid', String(outside.pid)]);
    expect(missing.exitCode, missing.stderr).toBe(2);
    expect(missing.stderr).toContain(
      `network.namespace ${primary.namespace} does not exist, so --pid ${outside.pid} cannot be in it`,
    );

    await openServiceNetwork(primary, { info: () => undefined });
    const elsewhere = await runCli(['run', '--config', path, '--pid', String(outside.pid)]);
    expect(elsewhere.exitCode, elsewhere.stderr).toBe(2);
    expect(elsewhere.stderr).toContain(`--pid ${outside.pid} is not in network namespace ${primary.namespace}`);
  });

  it('-- CMD: a leftover namespace is reused with a log line, and removed with its veth once the workload is gone', async () => {
    const { primary } = networkPlan('rn', '10.71');
    await openServiceNetwork(primary, { info: () => undefined }); // as a crashed remusd would leave it
    const run = await runCli([
      'run',
      '--config',
      await config(networkYaml(primary)),
      '--max-checkpoints',
      '2',
      '--stop-workload',
      '--',
      'sleep',
      '60',
    ]);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stderr).toContain(`network namespace ${primary.namespace} exists already: reusing it`);
    expect(run.stderr).toContain(`network namespace ${primary.namespace} reused`);
    expect(run.stderr).toContain(`network namespace ${primary.namespace} and its veth removed: its workload is gone`);
    expect(await namespaces()).not.toContain(primary.namespace);
    expect((await execa('ip', ['link', 'show', primary.hostInterface], { reject: false })).exitCode).not.toBe(0);
  });
});
