import { statSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { packageRoot } from '../../src/paths.js';
import { ensureBundledBinary } from '../../src/process/compile.js';
import { startSessionLeader, type SessionProcess } from '../../src/process/session-leader.js';
import { CounterClient } from '../../src/bench/counter-client.js';
import { networkDumpArgs } from '../../src/criu/network.js';
import type { TestNamespace } from './netns.js';

/**
 * The counter service (counter-server.c) started inside a namespace, and a client connected to it from the
 * host before remusd attaches: CRIU's network lock drops packets while each dump runs (about 1 s when the
 * machine is busy), which would slow a handshake down.
 */
export async function startCounterService(
  ns: TestNamespace,
  dir: string,
  port = 7400,
): Promise<{ service: SessionProcess; client: CounterClient }> {
  const server = await ensureBundledBinary(
    join(packageRoot(), 'src', 'workload', 'counter-server.c'),
    'remusd-counter-server',
  );
  const service = startSessionLeader(
    'nsenter',
    [`--net=/run/netns/${ns.name}`, server, String(port)],
    join(dir, 'service.out'),
  );
  for (let i = 0; i < 50; i++) {
    const client = await CounterClient.connect(ns.address, port, 2_000).catch(() => undefined);
    if (client !== undefined) return { service, client };
    await sleep(100);
  }
  throw new Error(`the counter service in ${ns.name} did not accept a connection`);
}

/** A config for remusd run protecting a TCP service in `ns` with output commit (plus `extra` lines). */
export async function writeGateConfig(path: string, ns: TestNamespace, images: string, extra: string[]): Promise<void> {
  const inode = statSync(`/run/netns/${ns.name}`).ino;
  await writeFile(
    path,
    [
      'policy: { kind: fixed }',
      `checkpoint: { mode: full, dir: ${images} }`,
      // What CRIU needs for a TCP service in its own namespace.
      `criu: { extra_args: ${JSON.stringify(networkDumpArgs(inode))} }`,
      ...extra,
    ].join('\n'),
  );
}

/** Waits until a JSON-lines file has `count` lines. */
export async function waitForLines(path: string, count: number, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const text = await readFile(path, 'utf8').catch(() => '');
    if (text.split('\n').filter(Boolean).length >= count) return;
    await sleep(100);
  }
  throw new Error(`fewer than ${count} lines in ${path} after ${timeoutMs} ms`);
}
