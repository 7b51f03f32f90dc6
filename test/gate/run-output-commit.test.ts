import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { killAndWait } from '../helpers/workload.js';
import { quantile } from '../../src/bench/counter-client.js';
import { expectConsecutive } from './client.js';
import { createTestNamespace, type TestNamespace } from './netns.js';
import { startCounterService, waitForLines, writeGateConfig } from './service.js';

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
    const images = join(dir, 'images');
    const config = join(dir, 'remusd.yaml');
    await writeGateConfig(config, ns, images, [
      'interval: { initial: 500ms, min: 500ms, max: 500ms }',
      `output_commit: { enabled: true, interface: ${ns.hostInterface} }`,
    ]);
    const { service, client } = await startCounterService(ns, dir);
    let run: ReturnType<typeof spawnCli> | undefined;
    try {
      for (let i = 0; i < 50; i++) await client.increment();
      const direct = [...client.rttMs];
      run = spawnCli(['run', '--config', config, '--print', '--pid', String(service.pid)]);
      await waitForLines(join(images, 'records.jsonl'), 1);
      client.start();
      await waitForLines(join(images, 'records.jsonl'), 7);
      await client.stop();
      const gated = client.rttMs.slice(direct.length);
      process.kill(run.pid!, 'SIGINT');
      const result = await run;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      // The same connection after the clean stop: the gate is open again.
      for (let i = 0; i < 5; i++) await client.increment();
      expectConsecutive(client);

      const records = (await readFile(join(images, 'records.jsonl'), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
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
      console.log(
        `request latency p50: gated ${quantile(gated, 0.5).toFixed(1)} ms, direct ${quantile(direct, 0.5).toFixed(2)} ms`,
      );
      expect(quantile(gated, 0.5)).toBeGreaterThan(10 * quantile(direct, 0.5));
    } finally {
      client.close();
      run?.kill('SIGKILL');
      await killAndWait(service.pid);
    }
  });
});
