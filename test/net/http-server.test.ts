// A real HTTP server (python3 -m http.server, unmodified) in its own network namespace, checkpointed 20
// times by `remusd run` with a network section while a client in the host namespace downloads a file,
// then killed as if its host had died, and restored by `remusd failover --config` into a fresh namespace
// (the "backup host"): the same client reaches the same address and gets the same bytes.

import { randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { namespaceInode, processNamespaceInode, routeTo } from '../../src/net/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { cutLink, killNamespaceProcesses, networkPlan, networkYaml, routedInto } from '../helpers/net.js';
import { readRecords } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const PYTHON = '/usr/bin/python3';

// GET http://address:port/name from the host namespace; the body's bytes.
async function download(address: string, port: number, name: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const request = get({ host: address, port, path: `/${name}`, timeout: 5000, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        response.statusCode === 200 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${response.statusCode}`)),
      );
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('no answer in 5 s')));
    request.on('error', reject);
  });
}

describe('python3 -m http.server in a namespace: 20 checkpoints, then restored into a fresh namespace', () => {
  it(
    'serves the same file before, during and after, to a client in the host namespace',
    { timeout: 180_000 },
    async () => {
      await readFile(PYTHON).catch(() => {
        throw new Error(`${PYTHON} is missing: run scripts/setup.sh (it installs python3)`);
      });
      const { primary, backup } = networkPlan('rn', '10.71');
      const root = await imagesDir();
      const site = join(root, 'site');
      await mkdir(site);
      const content = randomBytes(3 * 2 ** 20 + 17); // larger than a socket buffer: the transfer spans many packets
      await writeFile(join(site, 'data.bin'), content);
      // The first checkpoint comes 2 s after start, once python is serving; then every 500 ms, so 20 checkpoints last
      // >= 10 s and downloads overlap them even on an idle machine.
      const common =
        'interval: { initial: 2s, min: 500ms, max: 2s }\npolicy: { kind: fixed }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 3 } }\n';
      await writeFile(join(root, 'primary.yaml'), common + networkYaml(primary));
      await writeFile(join(root, 'backup.yaml'), networkYaml(backup));
      const address = primary.address.address;
      const port = 8000 + (process.pid % 1000);

      const run = spawnCli([
        'run',
        '--config',
        join(root, 'primary.yaml'),
        '--max-checkpoints',
        '20',
        '--',
        PYTHON,
        '-m',
        'http.server',
        String(port),
        '--bind',
        address,
        '--directory',
        site,
      ]);
      let stderr = '';
      run.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      // Downloads while remusd checkpoints: each one must be whole (the network lock is lifted after each dump).
      // Never a packet before the host routes the service address into the namespace: until then it would follow the
      // default route off this machine.
      await routedInto(primary);
      const first = await waitFor(
        'the server to answer',
        () => download(address, port, 'data.bin').catch(() => undefined),
        30_000,
        200,
      );
      expect(first.equals(content)).toBe(true);
      let during = 0;
      while (run.exitCode === null && during < 200) {
        const body = await download(address, port, 'data.bin');
        expect(body.equals(content)).toBe(true);
        during += 1;
      }
      const result = await run;
      expect(result.exitCode, stderr).toBe(0);
      expect(during).toBeGreaterThan(0);
      const records = await readRecords(join(root, 'images', 'records.jsonl'));
      expect(records).toHaveLength(20);
      const pid = Number(/started .* as pid (\d+)/.exec(stderr)?.[1]);
      expect(await processNamespaceInode(pid)).toBe(await namespaceInode(primary.namespace));
      expect(stderr).toContain(`network namespace ${primary.namespace} kept: processes still run in it`);

      // The primary "host" dies: its link first (nothing it says on the way down reaches the client), then the server.
      await cutLink(primary);
      await killNamespaceProcesses(primary.namespace);

      const failover = await runCli([
        'failover',
        '--dir',
        join(root, 'images'),
        '--config',
        join(root, 'backup.yaml'),
        '--json',
      ]);
      expect(failover.exitCode, failover.stderr).toBe(0);
      const restored = JSON.parse(failover.stdout);
      expect(restored.name).toBe(records.at(-1)!.dir.split('/').at(-1));
      expect(restored.network).toMatchObject({
        namespace: backup.namespace,
        address,
        host_interface: backup.hostInterface,
      });
      expect(await processNamespaceInode(restored.pid)).toBe(await namespaceInode(backup.namespace));
      expect(await routeTo(address)).toEqual({ dev: backup.hostInterface, prefsrc: backup.hostAddress });

      const after = await download(address, port, 'data.bin');
      expect(after.equals(content)).toBe(true);
      // A second request: the restored server goes on serving, not just one answer.
      expect((await download(address, port, 'data.bin')).equals(content)).toBe(true);
    },
  );
});
