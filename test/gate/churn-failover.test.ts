// Remus' promise for a service that clients keep connecting to, the way web clients do: redis-server under
// `remusd run` with output commit released by the backup's ack, replicated to `remusd backup --failover-after`.
// Eight clients each open a NEW connection for every INCR (connect, INCR, close), so at any checkpoint some
// connections are half-open, some wait in the accept queue and some are mid-request. Then the primary host
// crashes (link cut, supervisor, shipper and redis killed with SIGKILL) and the backup fails over. Clients may
// see resets around the crash (a connection the restored checkpoint does not hold), and retry; what they must
// never see is an acknowledged write lost. A restored redis that had lost acknowledged INCRs hands their values
// out again, so the check is that no value is acknowledged twice (rather than "after > before": a reply released
// just before the link was cut may be read after the crash and be smaller than another client's). Negative
// control: output commit off, the same crash hands acknowledged values out again.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testPair } from '../replicate/helpers.js';
import { spawnCli } from '../helpers/cli.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { imagesDir } from '../helpers/criu.js';
import { cutLink, killNamespaceProcesses, networkPlan, networkYaml } from '../helpers/net.js';
import { freePort } from '../helpers/ports.js';
import { readRecords } from '../helpers/records.js';
import { redisArgs, redisServer } from '../helpers/redis.js';
import { connectThroughGate, RespClient } from '../helpers/resp-client.js';
import { sleep, waitFor } from '../helpers/wait.js';

const CLIENTS = 8;
const PORT = 6379;
/** How long the clients run before the crash. */
const LOAD_MS = 6000;
/** Acknowledged INCRs wanted before the crash; each fresh connection waits for two released epochs (SYN-ACK, reply). */
const BEFORE = CLIENTS;
const BEFORE_BOUND_MS = 120_000;
/** Acknowledged INCRs wanted after the crash (all clients together) before the test looks. */
const AFTER = 3 * CLIENTS;
/** Bound on the wait for them: the backup's silence timeout + restore + TCP's backoff, on a busy machine. */
const AFTER_BOUND_MS = 90_000;

interface ChurnOutcome {
  before: number[];
  after: number[];
  /** Why connections or requests failed, with counts (resets around the crash are expected). */
  failures: Map<string, number>;
  /** The primary's records (records.jsonl), as `remusd run` left them at the crash. */
  records: CheckpointRecord[];
}

async function churnAcrossCrash(outputCommit: boolean, tag: string): Promise<ChurnOutcome> {
  const { primary, backup } = networkPlan(tag, '10.74');
  const root = await imagesDir();
  const address = primary.address.address;
  await writeFile(
    join(root, 'primary.yaml'),
    'interval: { initial: 300ms, min: 300ms, max: 300ms }\npolicy: { kind: fixed }\ncheckpoint: { mode: delta, dir: ./images }\n' +
      networkYaml(primary) +
      (outputCommit ? 'output_commit: { enabled: true, release_after: backup-ack }\n' : ''),
  );
  await writeFile(join(root, 'backup.yaml'), networkYaml(backup));
  const keys = await testPair();
  const backupPort = await freePort();
  const logs = new Map<string, string>();
  const spawned = (name: string, args: string[]) => {
    const child = spawnCli(args);
    child.stderr?.on('data', (chunk: Buffer) =>
      logs.set(name, ((logs.get(name) ?? '') + chunk.toString()).slice(-4000)),
    );
    return child;
  };
  const daemons = [
    spawned('backup', [
      'backup',
      '--dir',
      join(root, 'backup'),
      '--listen',
      `127.0.0.1:${backupPort}`,
      '--keys',
      keys.backupDir,
      '--failover-after',
      '2s',
      '--config',
      join(root, 'backup.yaml'),
    ]),
  ];
  const run = spawned('run', [
    'run',
    '--config',
    join(root, 'primary.yaml'),
    '--',
    await redisServer(),
    ...redisArgs(address, PORT, root),
  ]);
  daemons.push(run);
  const before: number[] = [];
  const after: number[] = [];
  const failures = new Map<string, number>();
  let crashed = false;
  let stop = false;
  const explain = (error: Error): never => {
    throw new Error(
      `${error.message}: ${before.length} acknowledged before the crash, ${after.length} after; failures ${JSON.stringify([...failures])}\n${[...logs].map(([name, text]) => `--- ${name}\n${text}`).join('\n')}`,
    );
  };
  try {
    const pid = await waitFor(
      'redis',
      () => Number(/started .* as pid (\d+)/.exec(logs.get('run') ?? '')?.[1]) || undefined,
      60_000,
      100,
    );
    const ship = spawned('ship', [
      'ship',
      '--images',
      join(root, 'images'),
      '--to',
      `127.0.0.1:${backupPort}`,
      '--keys',
      keys.primaryDir,
      '--pid',
      String(pid),
    ]);
    daemons.push(ship);
    (await connectThroughGate(address, PORT, 120_000)).close();

    // Each client: a new connection per INCR; a failure is counted and the client tries again.
    const clients = Array.from({ length: CLIENTS }, async () => {
      while (!stop) {
        let client: RespClient | undefined;
        try {
          client = await RespClient.connect(address, PORT, 20_000);
          const value = await client.incr('counter', 30_000);
          (crashed ? after : before).push(value);
        } catch (error) {
          const why = (error as Error).message.replace(/\d+/g, 'N');
          failures.set(why, (failures.get(why) ?? 0) + 1);
          await sleep(100);
        } finally {
          client?.close();
        }
      }
    });
    await sleep(LOAD_MS);
    await waitFor(
      'acknowledged INCRs before the crash',
      () => (before.length >= BEFORE ? true : undefined),
      BEFORE_BOUND_MS,
      100,
    ).catch(explain);
    // The primary host crashes: its link first, so nothing it says on the way down reaches a client.
    crashed = true;
    await cutLink(primary);
    run.kill('SIGKILL');
    ship.kill('SIGKILL');
    await killNamespaceProcesses(primary.namespace);
    await waitFor(
      'acknowledged INCRs after the crash',
      () => (after.length >= AFTER ? true : undefined),
      AFTER_BOUND_MS,
      100,
    ).catch(explain);
    stop = true;
    await Promise.all(clients);
    return { before, after, failures, records: await readRecords(join(root, 'images', 'records.jsonl')) };
  } finally {
    stop = true;
    for (const child of daemons) child.kill('SIGKILL');
    await killNamespaceProcesses(primary.namespace);
    await killNamespaceProcesses(backup.namespace);
  }
}

/** Values acknowledged twice: each one an acknowledged INCR the restored redis had lost. */
function lostWrites(outcome: ChurnOutcome): number[] {
  const seen = new Set<number>();
  const twice: number[] = [];
  for (const value of [...outcome.before, ...outcome.after]) {
    if (seen.has(value)) twice.push(value);
    seen.add(value);
  }
  return twice;
}

describe('redis with a new connection per request, failed over under output commit', () => {
  it('output commit on: no acknowledged INCR is lost across the crash', { timeout: 300_000 }, async () => {
    const outcome = await churnAcrossCrash(true, 'rch');
    console.log(
      `output commit ON: ${outcome.before.length} INCRs acknowledged before the crash (newest ${Math.max(...outcome.before)}), ${outcome.after.length} after (from ${Math.min(...outcome.after)}); failures ${JSON.stringify([...outcome.failures])}`,
    );
    expect(outcome.before.length).toBeGreaterThanOrEqual(BEFORE);
    expect(lostWrites(outcome), 'values acknowledged twice').toEqual([]);
    // Each record says how long its checkpoint waited for the backup's ack (Remus' pacing; 0: not at all).
    const paced = outcome.records.map((record) => record.paced_ms);
    console.log(`paced_ms of ${paced.length} records: ${paced.join(' ')}`);
    expect(paced.length).toBeGreaterThan(0);
    for (const ms of paced) expect(ms).toSatisfy((v) => typeof v === 'number' && v >= 0 && v <= 300 + 1000);
  });

  it('negative control, output commit off: the same crash loses acknowledged INCRs', { timeout: 300_000 }, async () => {
    const outcome = await churnAcrossCrash(false, 'rcn');
    console.log(
      `output commit OFF: ${outcome.before.length} before (newest ${Math.max(...outcome.before)}), ${outcome.after.length} after (from ${Math.min(...outcome.after)}); lost ${lostWrites(outcome).length}`,
    );
    expect(lostWrites(outcome).length).toBeGreaterThan(0);
    expect(outcome.records.filter((record) => 'paced_ms' in record)).toEqual([]); // no output commit, no pacing
  });
});
