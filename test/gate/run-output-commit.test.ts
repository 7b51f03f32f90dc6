import { existsSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { ensureBundledBinary } from '../../src/process/compile.js';
import { startSessionLeader } from '../../src/process/session.js';
import { spawnCli } from '../helpers/cli.js';
import { killAndWait } from '../helpers/workload.js';
import { CounterClient, quantile } from './client.js';
import { createTestNamespace, type TestNamespace } from './netns.js';

// remusd run with output commit (release after the local fsync), real CRIU, a real TCP service in its own
// network namespace and a real client in the host's: every reply waits for the checkpoint covering it.

let ns: TestNamespace;
let dir: string;

beforeAll(async () => {
  ns = await createTestNamespace('r');
  dir = await mkdtemp(join(tmpdir(), 'rg-run-'));
});

afterAll(async () => {
  await ns?.remove();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('remusd run with output commit', () => {
  it('holds each reply until its checkpoint is fsynced, records what it held, and opens the gate on stop', async () => {
    const server = await ensureBundledBinary(join(packageRoot(), 'test', 'gate', 'counter-server.c'), 'rg-counter-server');
    const inode = statSync(`/run/netns/${ns.name}`).ino;
    const config = join(dir, 'remusd.yaml');
    await writeFile(
      config,
      [
        'interval: { initial: 500ms, min: 500ms, max: 500ms }',
        'policy: { kind: fixed }',
        `checkpoint: { mode: full, dir: ${join(dir, 'images')} }`,
        // Until the network section does it: what CRIU needs for a TCP service in its own namespace.
        `criu: { extra_args: [--tcp-established, --network-lock, nftables, --external, "net[${inode}]:rgnet"] }`,
        `output_commit: { enabled: true, interface: ${ns.hostInterface} }`,
      ].join('\n'),
    );
    // The service runs first and the client connects before remusd attaches: CRIU's network lock drops
    // packets while each dump runs (about 1 s here when the machine is busy), which would slow a handshake.
    const service = startSessionLeader('nsenter', [`--net=/run/netns/${ns.name}`, server, '7400'], join(dir, 'service.out'));
    let client: CounterClient | undefined;
    let run: ReturnType<typeof spawnCli> | undefined;
    try {
      for (let i = 0; i < 50 && client === undefined; i++) {
        client = await CounterClient.connect(ns.address, 7400, 2_000).catch(() => undefined);
        if (client === undefined) await sleep(100);
      }
      expect(client).toBeDefined();
      for (let i = 0; i < 50; i++) await client!.increment();
      const direct = [...client!.rttMs];
      run = spawnCli(['run', '--config', config, '--print', '--pid', String(service.pid)]);
      const images = join(dir, 'images');
      for (let i = 0; i < 300 && !existsSync(join(images, 'latest')); i++) await sleep(100);
      client!.start();
      await waitForRecords(join(images, 'records.jsonl'), 6);
      await client!.stop();
      const gated = client!.rttMs.slice(direct.length);
      process.kill(run.pid!, 'SIGINT');
      const result = await run;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      // The same connection after the clean stop: the gate is open again.
      for (let i = 0; i < 5; i++) await client!.increment();
      expect(client!.values).toEqual(client!.values.map((_, i) => client!.values[0]! + i)); // no value lost or repeated
      expect(client!.events).toEqual([]);

      const records = (await readFile(join(dir, 'images', 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
      expect(records.length).toBeGreaterThanOrEqual(6);
      for (const record of records) {
        expect(record.released_through).toBe(record.seq); // released right after its own fsync
        expect(record.release_ms).toBeGreaterThan(record.criu_wall_ms); // the barrier precedes the dump
      }
      const held = records.reduce((sum: number, r: { output_packets: number }) => sum + r.output_packets, 0);
      expect(held).toBeGreaterThanOrEqual(gated.length); // every reply was held (one packet at least)
      expect(records.some((r: { hold_p50_ms: number | null }) => (r.hold_p50_ms ?? 0) > 0)).toBe(true);
      expect(String(result.stdout)).toMatch(/added latency p50 \d+ p99 \d+ ms/);
      expect(String(result.stderr)).toMatch(/output commit: \d+ packets .* added latency p50 [\d.]+ ms p99/);

      // Held replies wait for a checkpoint (500 ms epochs); direct ones do not: a ratio, not a bound.
      console.log(`request latency p50: gated ${quantile(gated, 0.5).toFixed(1)} ms, direct ${quantile(direct, 0.5).toFixed(2)} ms`);
      expect(quantile(gated, 0.5)).toBeGreaterThan(10 * quantile(direct, 0.5));
    } finally {
      client?.close();
      run?.kill('SIGKILL');
      await killAndWait(service.pid);
    }
  });
});

async function waitForRecords(path: string, count: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.split('\n').filter(Boolean).length >= count) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${count} records in ${path} after 60 s`);
}
