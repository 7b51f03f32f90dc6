// A connection the kernel has completed but the workload has not accepted yet waits in its listening socket's
// queue; CRIU cannot dump it, and without --skip-in-flight it fails the WHOLE dump ("In-flight connection"). A
// server that clients keep connecting to lost a third of its checkpoints so (redis, ~210 new connections/s:
// src/criu/network.ts). Here the queue is made to hold one for certain: a listener that never accepts, a
// client connected to it, under `remusd run` with a network section. Every checkpoint must succeed; the
// negative control dumps the same process with remusd's options minus --skip-in-flight and must fail. Then the
// failover: the queued connection is not in the checkpoint, so the restored listener resets it, while a new
// client connects as before.

import { connect, type Socket } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { networkDumpArgs } from '../../src/criu/network.js';
import { namespaceInode, routeTo } from '../../src/net/index.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { cutLink, killNamespaceProcesses, networkPlan, networkYaml, routedInto } from '../helpers/net.js';
import { readRecords } from '../helpers/records.js';
import { waitFor } from '../helpers/wait.js';

const PYTHON = '/usr/bin/python3';
const CHECKPOINTS = 5;

// Listens with a backlog and never accepts: whatever connects stays in the queue.
const NEVER_ACCEPTS = [
  'import socket, sys, time',
  's = socket.socket()',
  's.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)',
  's.bind((sys.argv[1], int(sys.argv[2])))',
  's.listen(8)',
  'print("listening", flush=True)',
  'while True: time.sleep(3600)',
].join('\n');

/** A TCP connection to address:port once the handshake completes (the kernel's, not the workload's accept). */
function connected(address: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port, timeout: 3000 });
    socket.once('connect', () => {
      socket.setTimeout(0);
      resolve(socket);
    });
    socket.once('timeout', () => socket.destroy(new Error('no handshake in 3 s')));
    socket.once('error', reject);
  });
}

/** The first thing that happens to a socket: its error code, 'end', 'close', or 'data'. */
function nextEvent(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    socket.once('end', () => resolve('end'));
    socket.once('close', () => resolve('close'));
    socket.once('data', () => resolve('data'));
  });
}

describe('a connection waiting in the accept queue while remusd checkpoints', () => {
  it(
    'every checkpoint succeeds (CRIU alone fails on it); a failover resets that connection and takes new ones',
    { timeout: 180_000 },
    async () => {
      const { primary, backup } = networkPlan('aq', '10.73');
      const root = await imagesDir();
      const images = join(root, 'images');
      await mkdir(images);
      // The first checkpoint 3 s after start, once the client waits in the queue (most often); then every 300 ms.
      await writeFile(
        join(root, 'primary.yaml'),
        'interval: { initial: 3s, min: 300ms, max: 3s }\npolicy: { kind: fixed }\ncheckpoint: { mode: delta, dir: ./images }\n' +
          networkYaml(primary),
      );
      await writeFile(join(root, 'backup.yaml'), networkYaml(backup));
      const address = primary.address.address;
      const port = 9000 + (process.pid % 1000);
      const run = spawnCli([
        'run',
        '--config',
        join(root, 'primary.yaml'),
        '--max-checkpoints',
        String(CHECKPOINTS),
        '--',
        PYTHON,
        '-c',
        NEVER_ACCEPTS,
        address,
        String(port),
      ]);
      let stderr = '';
      run.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await routedInto(primary);
      const queued = await waitFor('the listener', () => connected(address, port).catch(() => undefined), 30_000, 100);
      const queuedAt = Date.now();
      queued.write('GET / HTTP/1.0\r\n\r\n');

      const result = await run;
      expect(result.exitCode, stderr).toBe(0);
      expect(stderr).not.toMatch(/checkpoint \d+ failed/);
      const records = await readRecords(join(images, 'records.jsonl'));
      expect(records).toHaveLength(CHECKPOINTS);
      const pid = Number(/started .* as pid (\d+)/.exec(stderr)?.[1]);
      expect(pid).toBeGreaterThan(0);
      // Python may start slowly on a busy machine: the first checkpoints can come before the client does.
      const withQueued = records.filter((record) => Date.parse(record.start) > queuedAt);
      expect(withQueued.length, `checkpoints after the client connected, of ${CHECKPOINTS}`).toBeGreaterThanOrEqual(3);

      // The dumps left the live connection alone: still queued on the running listener, the client not reset.
      const listening = await execa('ip', ['netns', 'exec', primary.namespace, 'ss', '-Hltn', `sport = :${port}`]);
      expect(listening.stdout.trim().split(/\s+/).slice(0, 2), listening.stdout).toEqual(['LISTEN', '1']);
      expect(queued.destroyed).toBe(false);

      // Negative control: the same process, remusd's dump options without --skip-in-flight: CRIU refuses.
      const criu = await testCriu();
      const inode = await namespaceInode(primary.namespace);
      const withoutSkip = networkDumpArgs(inode).filter((arg) => arg !== '--skip-in-flight');
      expect(withoutSkip).toHaveLength(networkDumpArgs(inode).length - 1);
      const control = join(root, 'control');
      await mkdir(control);
      const refused = await dump(criu, { kind: 'full', pid, imagesDir: control, extraArgs: withoutSkip });
      expect(refused.exitCode).not.toBe(0);
      expect(await readFile(refused.logFile, 'utf8')).toMatch(/In-flight connection/);

      // The primary host dies; the backup host restores the newest checkpoint.
      await cutLink(primary);
      await killNamespaceProcesses(primary.namespace);
      const failover = await runCli(['failover', '--dir', images, '--config', join(root, 'backup.yaml'), '--json']);
      expect(failover.exitCode, failover.stderr).toBe(0);
      expect(await routeTo(address)).toEqual({ dev: backup.hostInterface, prefsrc: backup.hostAddress });
      // The queued connection was left out of the checkpoint: the restored listener does not know it.
      const fate = nextEvent(queued);
      queued.write('more\r\n');
      expect(await fate).toBe('ECONNRESET');
      // A new client's handshake completes against the restored listener (its queue, empty, restored).
      const fresh = await connected(address, port);
      fresh.destroy();
      queued.destroy();
      await killNamespaceProcesses(backup.namespace);
    },
  );
});
