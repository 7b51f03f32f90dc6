import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { killAndWait } from '../helpers/workload.js';
import { testPair } from '../replicate/helpers.js';
import { expectConsecutive } from './client.js';
import { createTestNamespace, type TestNamespace } from './netns.js';
import { startCounterService, waitForLines, writeGateConfig } from './service.js';
import { freePort } from '../helpers/ports.js';

// release_after: backup-ack on real processes: remusd run holds the output, remusd ship releases an epoch
// only once remusd backup has acknowledged its checkpoint. With no backup, nothing goes out at all.

let ns: TestNamespace;
let dir: string;

beforeAll(async () => {
  ns = await createTestNamespace('a');
  dir = await mkdtemp(join(tmpdir(), 'rg-ack-'));
});

afterAll(async () => {
  await ns?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('output commit released by the backup acknowledgement', () => {
  it('holds every reply while the backup is down, and releases once it acknowledges', async () => {
    const images = join(dir, 'images');
    const config = join(dir, 'remusd.yaml');
    await writeGateConfig(config, ns, images, [
      'interval: { initial: 300ms, min: 300ms, max: 300ms }',
      `output_commit: { enabled: true, interface: ${ns.hostInterface}, release_after: backup-ack }`,
    ]);
    const { service, client } = await startCounterService(ns, dir);
    const port = await freePort();
    const processes: ReturnType<typeof spawnCli>[] = [];
    try {
      await client.increment();
      const run = spawnCli(['run', '--config', config, '--pid', String(service.pid)]);
      processes.push(run);
      await waitForLines(join(images, 'records.jsonl'), 1);
      const keys = await testPair();
      const ship = spawnCli(['ship', '--images', images, '--to', `127.0.0.1:${port}`, '--keys', keys.primaryDir]);
      processes.push(ship);
      const before = client.values.length;
      const pending = client.increment();
      await waitForLines(join(images, 'records.jsonl'), 5);
      expect(client.values.length).toBe(before); // four checkpoints later, still no reply: no ack, no release

      processes.push(
        spawnCli(['backup', '--dir', join(dir, 'backup'), '--listen', `127.0.0.1:${port}`, '--keys', keys.backupDir]),
      );
      await pending; // the backup acknowledged: the reply goes out
      for (let i = 0; i < 3; i++) await client.increment();
      expectConsecutive(client);

      const shipped = (await readFile(join(images, 'ship.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l).name as string);
      const records = (await readFile(join(images, 'records.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      // Every released epoch is one the backup had acknowledged (records say which; the ship log says what).
      for (const r of records)
        if (r.released_through !== null) expect(Number(shipped.at(-1))).toBeGreaterThanOrEqual(r.released_through);
      expect(records.slice(0, 4).every((r: { released_through: number | null }) => r.released_through === null)).toBe(
        true,
      );
    } finally {
      client.close();
      for (const p of processes) p.kill('SIGKILL');
      await killAndWait(service.pid);
      await sleep(100);
    }
  });
});
