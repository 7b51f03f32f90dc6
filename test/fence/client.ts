// The partition tests' client and probes: one redis connection sending INCR after INCR (each reply attributed to
// the host it came through), the backup's failover.json, the primary's metrics and etcd's keys, read from
// inside the hosts' namespaces.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { FailoverReport } from '../../src/replicate/auto-failover.js';
import { ETCD_PREFIX } from '../helpers/etcd.js';
import { IncrLoop } from '../helpers/incr-loop.js';
import { connectThroughGate } from '../helpers/resp-client.js';
import { waitFor } from '../helpers/wait.js';
import { METRICS_PORT, readJson, type Pair } from './pair.js';

/** The client: one connection, INCR in a loop, replies attributed to the primary or the backup host. */
export async function clientOf(p: Pair): Promise<IncrLoop> {
  const client = await connectThroughGate(p.service!.address, p.service!.port).catch(withDiagnosis(p));
  return new IncrLoop(client, {
    primary: () => p.hosts.rxPackets('primary'),
    backup: () => p.hosts.rxPackets('backup'),
  });
}

/**
 * What the daemons said and the primary's last checkpoints, for a failure message: a client that never got
 * its first reply, or lost its connection after a failover, fails rarely and only under load, and the test's
 * temporary directory is gone by the time anyone looks.
 */
export async function pairDiagnosis(p: Pair): Promise<string> {
  const text = await readFile(join(p.images, 'records.jsonl'), 'utf8').catch((error: Error) => error.message);
  const records = text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .slice(-20)
    .map((line) => {
      const r = JSON.parse(line) as Record<string, unknown> & { probe: { trigger?: string } | null };
      return [r.seq, r.start, r.interval_ms, r.elapsed_ms, r.size_bytes, r.decision, r.probe?.trigger ?? '-'].join(' ');
    });
  return [
    `RUN:\n${p.run.log().slice(-3000)}`,
    `SHIP:\n${p.ship.log().slice(-2000)}`,
    `BACKUP:\n${p.backup.log().slice(-3000)}`,
    `RECORDS (seq start interval elapsed size decision probe):\n${records.join('\n')}`,
  ].join('\n');
}

/** A catch handler that adds pairDiagnosis to the error. */
export const withDiagnosis =
  (p: Pair) =>
  async (error: Error): Promise<never> => {
    throw new Error(`${error.message}\n${await pairDiagnosis(p)}`);
  };

/** The backup's failover.json once it is written (a timeout shows the backup's log). */
export const failoverOf = (p: Pair, timeoutMs = 60_000) =>
  waitFor(
    'the backup to fail over',
    () => readJson<FailoverReport>(join(p.backupDir, 'failover.json')).then((r) => r ?? undefined),
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nBACKUP:\n${p.backup.log().slice(-3000)}`);
  });

/** What the client saw, for the failure messages. */
export const seen = (loop: IncrLoop) =>
  `${loop.acks.map((a) => `${a.value}@${a.via}`).join(' ')}${loop.error === undefined ? '' : ` / ${loop.error}`}`;

/** One metric of the primary's `remusd run` (fetched inside the primary host's namespace); undefined if absent. */
export async function primaryMetric(p: Pair, name: string): Promise<number | undefined> {
  const script = `fetch('http://127.0.0.1:${METRICS_PORT}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await execa('nsenter', [`--net=/run/netns/${p.hosts.ns.primary}`, process.execPath, '-e', script]);
  const line = stdout.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

// etcdctl inside the etcd host's namespace (etcd listens on the namespace's own 2379).
const etcdctl = (p: Pair, args: string[]) =>
  execa(
    'nsenter',
    [
      `--net=/run/netns/${p.hosts.ns.etcd}`,
      join(ETCD_PREFIX, 'usr', 'bin', 'etcdctl'),
      '--endpoints',
      'http://127.0.0.1:2379',
      ...args,
    ],
    { env: { ETCDCTL_API: '3' } },
  );

/** A key's value in the test etcd ('' when absent). */
export async function etcdGet(p: Pair, key: string): Promise<string> {
  return (await etcdctl(p, ['get', '--print-value-only', key])).stdout.trim();
}

/** Deletes a key from the test etcd. */
export async function etcdDelete(p: Pair, key: string): Promise<void> {
  await etcdctl(p, ['del', key]);
}
