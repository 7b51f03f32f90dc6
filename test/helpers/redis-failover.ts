// Remus' promise on a real service, shared by the host test (test/gate/redis-failover.test.ts, TUN gate) and
// the VM test (test/vm/redis-plug-failover.test.ts, plug qdisc): redis-server in its own network namespace
// under `remusd run`, with output commit released by the backup's ack, replicated by `remusd ship --pid` to
// `remusd backup --failover-after` with its own namespace (the "backup host"). A client in the host namespace
// keeps ONE TCP connection and sends INCR in a loop; then the primary "host" crashes (link cut, supervisor,
// shipper and redis killed with SIGKILL) and the client's next INCR waits for the restored redis.

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect } from 'vitest';
import { testPair } from '../replicate/helpers.js';
import { spawnCli } from './cli.js';
import { imagesDir } from './criu.js';
import { cutLink, killNamespaceProcesses, networkPlan, networkYaml } from './net.js';
import { freePort } from './ports.js';
import { redisArgs, redisServer } from './redis.js';
import { connectThroughGate, type RespClient, type SocketEvent } from './resp-client.js';
import { sleep, waitFor } from './wait.js';

export interface CrashScenario {
  outputCommit: boolean;
  mode: 'full' | 'delta';
  /** Namespace/interface name prefix, unique per test (see networkPlan). */
  tag: string;
  /** The test file's own /16, e.g. "10.72". */
  octets: string;
  /** How long the first INCR sent after the crash may wait for its reply. */
  continueBoundMs: number;
  /** The fixed checkpoint interval, e.g. "300ms"; with `adaptive`, interval.max (min 100 ms). */
  interval: string;
  /**
   * The config's default policy (predictive) between 100 ms and `interval`, with the dirty-size probe as
   * probe.enabled auto turns it on in mode delta, instead of the fixed policy at `interval`.
   */
  adaptive?: boolean;
  /** `remusd backup --failover-after`: how long the backup waits after the primary fell silent. */
  failoverAfter: string;
  /** How long the client sends INCRs before the crash (at least 3 are acknowledged either way). */
  loadMs: number;
  /** Bound on each wait while setting up (redis started, first checkpoint, first PONG). */
  setupTimeoutMs: number;
}

export interface CrashOutcome {
  /** Every acknowledged INCR value, in order. */
  acknowledged: number[];
  /** What happened to the connection before the test closed it (reset, close, error). */
  events: SocketEvent[];
  beforeCrash: number;
  /** ms from the crash to the first reply after it; undefined: none within the bound. */
  continuedAfterMs: number | undefined;
  error: string | undefined;
  /** The mechanism `remusd run` logged for its output gate ("plug", "tun"); undefined without output commit. */
  gate: string | undefined;
  /** `tc -s qdisc show` in the host namespace just before the crash: the gate's kernel side, with counters. */
  qdiscsBeforeCrash: string;
  /** The host-side interface of the primary's veth (the gate's devices are named after it). */
  primaryInterface: string;
  /** How `remusd run` said the dirty-size probe resolved ("on (auto: …)", "off (auto: …)"). */
  probe: string | undefined;
}

/** Runs the scenario once and reports what the client saw; throws (with the daemons' logs) when set-up fails. */
export async function crashAndFailover(scenario: CrashScenario): Promise<CrashOutcome> {
  const { primary, backup } = networkPlan(scenario.tag, scenario.octets);
  const root = await imagesDir();
  const images = join(root, 'images');
  const port = 6379;
  const backupPort = await freePort();
  const interval = scenario.interval;
  const policy = scenario.adaptive
    ? `interval: { initial: 100ms, min: 100ms, max: ${interval} }\n`
    : `interval: { initial: ${interval}, min: ${interval}, max: ${interval} }\npolicy: { kind: fixed }\n`;
  await writeFile(
    join(root, 'primary.yaml'),
    `${policy}checkpoint: { mode: ${scenario.mode}, dir: ./images }\n` +
      networkYaml(primary) +
      (scenario.outputCommit ? 'output_commit: { enabled: true, release_after: backup-ack }\n' : ''),
  );
  await writeFile(join(root, 'backup.yaml'), networkYaml(backup));
  const keys = await testPair();
  const backupArgs = [
    '--dir',
    join(root, 'backup'),
    '--listen',
    `127.0.0.1:${backupPort}`,
    '--keys',
    keys.backupDir,
    '--failover-after',
    scenario.failoverAfter,
  ];
  const processes = [spawnCli(['backup', ...backupArgs, '--config', join(root, 'backup.yaml')])];
  const run = spawnCli([
    'run',
    '--config',
    join(root, 'primary.yaml'),
    '--',
    await redisServer(),
    ...redisArgs(primary.address.address, port, root),
  ]);
  processes.push(run);
  let client: RespClient | undefined;
  let gate: string | undefined;
  let probe: string | undefined;
  const logs = new Map<string, string>();
  const collect = (name: string, p: ReturnType<typeof spawnCli>) =>
    p.stderr?.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      gate ??= name === 'run' ? /output commit: (\w+) gate on/.exec(text)?.[1] : undefined;
      probe ??= name === 'run' ? /dirty-size probe (o[nf]f? \([^)]*\))/.exec(text)?.[1] : undefined;
      logs.set(name, ((logs.get(name) ?? '') + text).slice(-4000));
    });
  collect('backup', processes[0]!);
  collect('run', run);
  try {
    const redisPid = await waitFor(
      'remusd run to start redis',
      () => Number(/started .* as pid (\d+)/.exec(logs.get('run') ?? '')?.[1]) || undefined,
      scenario.setupTimeoutMs,
      100,
    );
    await waitFor(
      'the first checkpoint',
      () => (existsSync(join(images, 'latest')) ? true : undefined),
      scenario.setupTimeoutMs,
      100,
    );
    const ship = spawnCli([
      'ship',
      '--images',
      images,
      '--to',
      `127.0.0.1:${backupPort}`,
      '--keys',
      keys.primaryDir,
      '--pid',
      String(redisPid),
    ]);
    processes.push(ship);
    collect('ship', ship);
    client = await connectThroughGate(primary.address.address, port, 2 * scenario.setupTimeoutMs);
    // INCR in a loop on the one connection, over several checkpoints and acknowledgements.
    const until = performance.now() + scenario.loadMs;
    while (performance.now() < until || client.acknowledged.length < 3) await client.incr('counter', 30_000);
    const beforeCrash = client.acknowledged.length;
    const qdiscsBeforeCrash = (await execa('tc', ['-s', 'qdisc', 'show'])).stdout;

    // The primary host crashes: no graceful anything.
    const pending = client.incr('counter', scenario.continueBoundMs);
    const crashedAt = performance.now();
    await cutLink(primary);
    run.kill('SIGKILL');
    ship.kill('SIGKILL');
    await killNamespaceProcesses(primary.namespace);

    let continuedAfterMs: number | undefined;
    let error: string | undefined;
    try {
      await pending;
      continuedAfterMs = performance.now() - crashedAt;
      for (let i = 0; i < 5; i++) await client.incr('counter', 10_000); // and it goes on
    } catch (failure) {
      error = (failure as Error).message;
    }
    const outcome = {
      acknowledged: [...client.acknowledged],
      events: [...client.events],
      beforeCrash,
      continuedAfterMs,
      error,
    };
    return { ...outcome, gate, probe, qdiscsBeforeCrash, primaryInterface: primary.hostInterface };
  } catch (error) {
    for (const [name, text] of logs) console.log(`--- ${name}\n${text}`);
    throw error;
  } finally {
    client?.close();
    for (const p of processes) p.kill('SIGKILL');
    await killNamespaceProcesses(backup.namespace);
    await sleep(100);
  }
}

/** True when each value is its predecessor + 1: no acknowledged write lost, none repeated. */
export function consecutive(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v === values[i - 1]! + 1);
}

/** Output commit ON: the same connection went on within the bound, values strictly consecutive. */
export function expectContinued(outcome: CrashOutcome, boundMs: number): void {
  expect(outcome.error).toBeUndefined();
  expect(outcome.events).toEqual([]); // no reset, no close: the same connection
  expect(outcome.continuedAfterMs).toBeLessThan(boundMs);
  expect(outcome.acknowledged.length).toBe(outcome.beforeCrash + 6);
  expect(consecutive(outcome.acknowledged), outcome.acknowledged.join(',')).toBe(true);
}

/** Whether the client saw the failover break it: an error, a reset/close, or values not consecutive. */
export function broken(outcome: CrashOutcome): boolean {
  return outcome.error !== undefined || outcome.events.length > 0 || !consecutive(outcome.acknowledged);
}
