// Endurance: does a primary/backup pair hold constant memory, descriptors, disk and timers over thousands of
// checkpoints? The README's redis set-up, whole: redis-server in its own network namespace under `remusd run`
// (mode delta, compaction, retention, records rotating, output commit released by the backup's ack), shipped
// by `remusd ship` over mutual TLS on loopback to `remusd backup --failover-after` with a namespace of its own.
// One client INCRs every CLIENT_PAUSE_MS on one connection and counts the acknowledged values. Every
// SAMPLE_MS the three daemons, the stores and the records are sampled from outside (soak-sample.ts); the rows
// are slopes per 1000 checkpoints against the run's own first window (soak-report.ts). At the end the primary
// "host" crashes (link down, SIGKILL of everything on it) and the backup's failover must hold every
// acknowledged INCR.
//
// `npm run bench -- soak` runs REMUSD_SOAK_CHECKPOINTS (default 3000) checkpoints; `soak-quick` 150.
// REMUSD_SOAK_SAMPLES=FILE appends each sample to FILE as a JSON line, for a closer look.
import { execa, type ResultPromise } from 'execa';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { namespaceInode, processesInNamespace } from '../net/index.js';
import { packageRoot } from '../paths.js';
import { REDIS_SERVER, redisArgs } from '../workload/redis.js';
import { CounterClient, quantile, REDIS_INCR } from './counter-client.js';
import type { BenchRow } from './harness.js';
import { metricValue, rotatedBytes, sampleDaemon, sampleTree } from './soak-sample.js';
import { trendRows, type Sample } from './soak-report.js';

const BENCH = 'soak';
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
const SAMPLE_MS = 5000;
const CLIENT_PAUSE_MS = 200;
const PORT = 6379; // inside the run's own namespaces
/** A reply this late means the pair is stuck (a release takes ~interval/2 + CRIU wall, ~1 s at load 10). */
const REPLY_BOUND_MS = 60_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('a TCP listener without a port');
  return address.port;
}

export async function run(): Promise<BenchRow[]> {
  return soak(Number(process.env.REMUSD_SOAK_CHECKPOINTS ?? 3000));
}

/** The bench for `checkpoints` checkpoints. */
export async function soak(checkpoints: number): Promise<BenchRow[]> {
  if (!Number.isInteger(checkpoints) || checkpoints < 20)
    throw new Error(`REMUSD_SOAK_CHECKPOINTS must be a whole number ≥ 20 (got ${checkpoints})`);
  const root = await mkdtemp(join(tmpdir(), 'remusd-soak-'));
  const id = `soak${process.pid % 100000}`;
  const third = (process.pid % 250) + 1;
  const address = `10.109.${third}.2`;
  const names = { primary: `${id}a`, backup: `${id}b` };
  const network = (name: string) =>
    `network: { namespace: ${name}, address: ${address}/24, host_address: 10.109.${third}.1, host_interface: ${name} }\n`;
  const ports = {
    backup: await freePort(),
    run: await freePort(),
    ship: await freePort(),
    backupMetrics: await freePort(),
  };
  const images = join(root, 'images');
  const backupDir = join(root, 'backup');
  const records = join(root, 'records.jsonl');
  await writeFile(
    join(root, 'primary.yaml'),
    'interval: { initial: 200ms, min: 200ms, max: 200ms }\npolicy: { kind: fixed }\n' +
      `checkpoint: { mode: delta, dir: ${images}, retention: { keep: 5, compact_at: 16 } }\n` +
      `records: { file: ${records}, max_bytes: 256KiB, keep_files: 3 }\n` +
      `metrics: { listen: "127.0.0.1:${ports.run}" }\n` +
      'output_commit: { enabled: true, release_after: backup-ack }\n' +
      network(names.primary),
  );
  await writeFile(join(root, 'backup.yaml'), network(names.backup));
  await execa(CLI, ['keys', 'init', join(root, 'keys')]);
  const daemons: ResultPromise[] = [];
  const logs = new Map<string, string>();
  const spawn = (name: string, args: string[]) => {
    const child = execa(CLI, args, { reject: false, stdin: 'ignore', buffer: false });
    child.stderr?.on('data', (chunk: Buffer) =>
      logs.set(name, ((logs.get(name) ?? '') + chunk.toString()).slice(-8000)),
    );
    daemons.push(child);
    return child;
  };
  let client: CounterClient | undefined;
  try {
    const backup = spawn('backup', [
      'backup', '--dir', backupDir, '--listen', `127.0.0.1:${ports.backup}`, '--keys', join(root, 'keys', 'backup'),
      '--keep', '5', '--failover-after', '3s', '--config', join(root, 'backup.yaml'),
      '--metrics', `127.0.0.1:${ports.backupMetrics}`,
    ]); // prettier-ignore
    const supervisor = spawn('run', [
      'run', '--config', join(root, 'primary.yaml'), '--', REDIS_SERVER, ...redisArgs(address, PORT, root),
    ]); // prettier-ignore
    const redisPid = await until(
      'remusd run to start redis',
      60_000,
      () => Number(/started .* as pid (\d+)/.exec(logs.get('run') ?? '')?.[1]) || undefined,
    );
    const ship = spawn('ship', [
      'ship', '--images', images, '--to', `127.0.0.1:${ports.backup}`, '--keys', join(root, 'keys', 'primary'),
      '--pid', String(redisPid), '--metrics', `127.0.0.1:${ports.ship}`,
    ]); // prettier-ignore
    client = await until('a redis connection through the gate', 120_000, () =>
      CounterClient.connect(address, PORT, 15_000, REDIS_INCR).catch(() => undefined),
    );
    const connected = client;
    let acknowledged = 0;
    let clientError: string | undefined;
    let clientRunning = true;
    const clientLoop = (async () => {
      while (clientRunning) {
        const value = await Promise.race([connected.increment(), sleep(REPLY_BOUND_MS).then(() => undefined)]);
        if (value === undefined || !(value > acknowledged)) {
          clientError =
            value === undefined
              ? `an INCR unanswered for ${REPLY_BOUND_MS} ms`
              : `INCR answered ${value} after ${acknowledged}`;
          return;
        }
        acknowledged = value;
        await sleep(CLIENT_PAUSE_MS);
      }
    })();

    const samples: Sample[] = [];
    const started = performance.now();
    let repliesSeen = 0;
    for (;;) {
      const runMetrics = await fetch(`http://127.0.0.1:${ports.run}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      const taken = metricValue(runMetrics, 'remusd_checkpoints_total') ?? 0;
      const [runSample, shipSample, backupSample, imagesTree, backupTree, recordBytes] = await Promise.all([
        sampleDaemon(pidOf(supervisor), `127.0.0.1:${ports.run}`),
        sampleDaemon(pidOf(ship), `127.0.0.1:${ports.ship}`),
        sampleDaemon(pidOf(backup), `127.0.0.1:${ports.backupMetrics}`),
        sampleTree(images),
        sampleTree(backupDir),
        rotatedBytes(records),
      ]);
      const redis = await sampleDaemon(redisPid, undefined);
      const shipMetrics = await fetch(`http://127.0.0.1:${ports.ship}/metrics`)
        .then((r) => r.text())
        .catch(() => '');
      const replies = connected.rttMs.slice(repliesSeen);
      repliesSeen += replies.length;
      samples.push({
        at: performance.now() - started,
        checkpoints: taken,
        load: loadavg()[0] ?? 0,
        run: runSample,
        ship: shipSample,
        backup: backupSample,
        redisRss: redis.rssBytes,
        images: imagesTree,
        backupStore: backupTree,
        records: recordBytes,
        shipLagSeconds: metricValue(shipMetrics, 'remusd_ship_lag_seconds'),
        incrMs: replies.length === 0 ? undefined : quantile(replies, 0.5),
      });
      if (process.env.REMUSD_SOAK_SAMPLES !== undefined)
        await appendFile(process.env.REMUSD_SOAK_SAMPLES, `${JSON.stringify(samples[samples.length - 1])}\n`);
      process.stderr.write(`soak: ${taken}/${checkpoints} checkpoints, ${acknowledged} INCRs acknowledged\n`);
      for (const [name, child] of [
        ['run', supervisor],
        ['ship', ship],
        ['backup', backup],
      ] as const)
        if (child.exitCode !== null) throw new Error(`remusd ${name} exited with ${child.exitCode} during the soak`);
      if (clientError !== undefined) throw new Error(`the client: ${clientError}`);
      if (taken >= checkpoints) break;
      await sleep(SAMPLE_MS);
    }
    clientRunning = false;
    await clientLoop;
    const rows = trendRows(BENCH, samples);
    rows.push(await crashAndCheck(acknowledged, connected, { names, address, supervisor, ship, backup }));
    const elapsed = (samples[samples.length - 1]?.at ?? 0) / 1000;
    const load = samples.reduce((sum, s) => sum + s.load, 0) / samples.length;
    rows.push({
      bench: BENCH,
      name: `run length: ${samples[samples.length - 1]?.checkpoints} checkpoints in ${elapsed.toFixed(0)} s, load average ${load.toFixed(1)} (2 cores shared)`,
      unit: 'checkpoints/s',
      value: (samples[samples.length - 1]?.checkpoints ?? 0) / elapsed,
    });
    return rows;
  } catch (error) {
    for (const [name, text] of logs) process.stderr.write(`--- remusd ${name}, its last lines:\n${text}\n`);
    throw error;
  } finally {
    client?.close();
    for (const child of daemons) child.kill('SIGKILL');
    for (const name of [names.primary, names.backup]) {
      await killNamespace(name);
      await execa('ip', ['link', 'del', 'dev', name], { reject: false });
      await execa('ip', ['netns', 'delete', name], { reject: false });
      await rm(`/run/remusd/netns/${name}`, { force: true });
    }
    await rm(root, { recursive: true, force: true });
  }
}

function pidOf(child: ResultPromise): number {
  if (child.pid === undefined) throw new Error('a remusd daemon did not start');
  return child.pid;
}

// Polls probe every 200 ms until it gives a value, or throws after timeoutMs naming what it waited for.
async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`soak: waited ${timeoutMs} ms for ${what}`);
    await sleep(200);
  }
}

async function killNamespace(name: string): Promise<void> {
  const inode = await namespaceInode(name).catch(() => undefined);
  if (inode === undefined) return;
  for (const pid of await processesInNamespace(inode)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

// The primary host crashes; the backup fails over by itself; the counter it restored must hold every
// acknowledged INCR (the next INCR answers more than the last acknowledged value).
async function crashAndCheck(
  acknowledged: number,
  client: CounterClient,
  pair: {
    names: { primary: string };
    address: string;
    supervisor: ResultPromise;
    ship: ResultPromise;
    backup: ResultPromise;
  },
): Promise<BenchRow> {
  const crashed = performance.now();
  await execa('ip', ['link', 'set', 'dev', pair.names.primary, 'down']);
  pair.supervisor.kill('SIGKILL');
  pair.ship.kill('SIGKILL');
  await killNamespace(pair.names.primary);
  const sameConnection = await Promise.race([client.increment(), sleep(120_000).then(() => undefined)]);
  let next = sameConnection;
  let how = 'on the same connection';
  if (next === undefined) {
    how = 'on a new connection';
    const fresh = await until('a connection to the restored redis', 60_000, () =>
      CounterClient.connect(pair.address, PORT, 15_000, REDIS_INCR).catch(() => undefined),
    );
    next = await fresh.increment();
    fresh.close();
  }
  const seconds = (performance.now() - crashed) / 1000;
  return {
    bench: BENCH,
    name: `failover after the soak: next INCR ${how} answered ${next} after ${acknowledged} acknowledged, ${seconds.toFixed(1)} s after the crash`,
    unit: 'INCRs',
    value: next - 1,
    baseline: { name: 'acknowledged before the crash', value: acknowledged },
    ratio: (next - 1) / acknowledged,
    target: 'every acknowledged INCR restored',
    pass: next - 1 >= acknowledged,
  };
}
