// One run of the output-commit latency bench: redis-server (Debian's 7.0, unpacked by
// scripts/install-redis.sh) under `remusd run` with a network section and real CRIU, checkpointed at a fixed
// interval, output commit on or off, and with CRIU's nftables lock or remusd's lossless hold during dumps.
// One client keeps ONE connection and sends INCR back to back; a second opens a fresh connection (and asks
// one INCR) every PROBE_MS, which shows what a dump does to a handshake (a dropped SYN waits 1 s to resend).
import { access, constants, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { packageRoot } from '../paths.js';
import { CounterClient, quantile, REDIS_INCR } from './counter-client.js';
import { readRecords } from '../loop/record-reader.js';

const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
import { REDIS_SERVER, redisArgs } from '../workload/redis.js';
const PORT = 6379; // inside the run's own namespace: nothing else listens there
const CLIENT_SECONDS = 20;
const PROBE_MS = 250;
/**
 * A request unanswered this long counts as a stall and ends the run's measurement (recorded as STALL_MS).
 * With CRIU's dropping lock and dumps of ~1 s every ~1.2 s (load 15+), a client's retransmissions kept
 * landing in dumps and its backoff doubled past minutes: the connection never recovered in the bench.
 */
export const STALL_MS = 15_000;

export interface LatencyVariant {
  intervalMs: number;
  outputCommit: boolean;
  /** What happens to packets for redis while CRIU dumps it (output_commit.inbound_during_dump). */
  inbound: 'hold' | 'drop';
}

export interface LatencyResult {
  /** Round trip of each INCR on the one connection, ms. */
  requestsMs: number[];
  /** Fresh connection + one INCR, ms; failures (no answer in 10 s) count as 10 s. */
  freshMs: number[];
  /** Median CRIU wall time of the run's checkpoints, ms. */
  criuWallMs: number;
  /** Whether a request went unanswered for STALL_MS (its time is counted as STALL_MS). */
  stalled: boolean;
  checkpoints: number;
}

/** Runs redis under remusd with `variant` in namespace `name` (10.102.`third`.2) and measures its clients. */
export async function measureRedis(
  variant: LatencyVariant,
  dir: string,
  name: string,
  third: number,
): Promise<LatencyResult> {
  await access(REDIS_SERVER, constants.X_OK).catch(() => {
    throw new Error(`${REDIS_SERVER} is missing: run scripts/setup.sh (it runs scripts/install-redis.sh)`);
  });
  const address = `10.102.${third}.2`;
  const images = join(dir, `images-${name}`);
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    [
      `interval: { initial: ${variant.intervalMs}ms, min: ${variant.intervalMs}ms, max: ${variant.intervalMs}ms }`,
      'policy: { kind: fixed }',
      `checkpoint: { mode: full, dir: ${images} }`,
      `network: { namespace: ${name}, address: ${address}/24 }`,
      ...(variant.outputCommit ? [`output_commit: { enabled: true, inbound_during_dump: ${variant.inbound} }`] : []),
    ].join('\n'),
  );
  const supervisor = execa(
    CLI,
    ['run', '--config', config, '--stop-workload', '--', REDIS_SERVER, ...redisArgs(address, PORT, dir)],
    {
      reject: false,
      stdin: 'ignore',
    },
  );
  let client: CounterClient | undefined;
  try {
    const records = join(images, 'records.jsonl');
    await waitFor(
      async () => (await readFile(records, 'utf8').catch(() => '')).length > 0,
      60_000,
      `${records} did not appear within 60 s`,
    );
    // The route into the namespace exists by now (remusd made it before starting redis).
    for (let attempt = 0; attempt < 10 && client === undefined; attempt++) {
      client = await CounterClient.connect(address, PORT, 20_000, REDIS_INCR).catch(() => undefined);
      if (client === undefined) await sleep(200);
    }
    if (client === undefined) throw new Error(`redis at ${address}:${PORT} did not accept a connection`);
    for (let i = 0; i < 3; i++) await client.increment();
    const warm = client.rttMs.length;
    const [requests, freshMs] = await Promise.all([
      requestLoop(client, CLIENT_SECONDS * 1000),
      probeFreshConnections(address, CLIENT_SECONDS * 1000),
    ]);
    const requestsMs = [...client.rttMs.slice(warm, warm + requests.answered), ...(requests.stalled ? [STALL_MS] : [])];
    const walls = (await readRecords(records)).flatMap((record) =>
      record.criuWallMs === undefined ? [] : [record.criuWallMs],
    );
    return {
      requestsMs,
      freshMs,
      criuWallMs: quantile(walls, 0.5),
      checkpoints: walls.length,
      stalled: requests.stalled,
    };
  } finally {
    client?.close();
    supervisor.kill('SIGINT');
    const ended = await Promise.race([supervisor, sleep(30_000).then(() => undefined)]);
    if (ended === undefined) supervisor.kill('SIGKILL');
  }
}

// INCR back to back on the one connection for `ms`, or until one goes unanswered for STALL_MS.
async function requestLoop(client: CounterClient, ms: number): Promise<{ answered: number; stalled: boolean }> {
  const until = performance.now() + ms;
  let answered = 0;
  while (performance.now() < until) {
    const answer = await Promise.race([client.increment().then(() => true), sleep(STALL_MS).then(() => false)]);
    if (!answer) return { answered, stalled: true };
    answered += 1;
  }
  return { answered, stalled: false };
}

// A fresh connection and one INCR every PROBE_MS for `ms`; each one's time (10 s when it got no answer).
async function probeFreshConnections(address: string, ms: number): Promise<number[]> {
  const times: number[] = [];
  const until = performance.now() + ms;
  while (performance.now() < until) {
    const started = performance.now();
    const probe = await CounterClient.connect(address, PORT, 10_000, REDIS_INCR).catch(() => undefined);
    if (probe === undefined) times.push(10_000);
    else {
      const answered = await Promise.race([probe.increment().then(() => true), sleep(10_000).then(() => false)]);
      times.push(answered ? performance.now() - started : 10_000);
      probe.close();
    }
    await sleep(Math.max(0, PROBE_MS - (performance.now() - started)));
  }
  return times;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number, message: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(message);
    await sleep(50);
  }
}
