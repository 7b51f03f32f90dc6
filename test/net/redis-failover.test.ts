// Real service, real client, real failover: redis-server 7.0 (Debian's) under `remusd run` with a network
// section, replicated by `remusd ship --pid` to `remusd backup --failover-after … --config` whose own
// network section is the "backup host". A client in the host namespace holds ONE TCP connection and sends
// INCR. Without output commit (the gate's tests cover it), a connection survives a failover only if the
// client saw nothing the restored checkpoint does not cover, so here the client pauses and waits until a
// checkpoint taken after its last reply is on the backup; then the primary host crashes (link cut, then
// supervisor, shipper and redis killed with -9), the backup restores redis into its own namespace and
// moves the route, and the client's SAME connection gets the next value. With --pid-namespace, redis runs
// as the init of its own pid namespace, and its host pid is taken by another process before the backup
// restores: the restore does not need it.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { namespaceInode, processNamespaceInode, routeTo } from '../../src/net/index.js';
import { isAlive } from '../../src/process/proc.js';
import { imagesDir } from '../helpers/criu.js';
import { namespacePids, occupyPid, type PidHolder } from '../helpers/pids.js';
import { cutLink, killNamespaceProcesses, networkPlan, networkYaml } from '../helpers/net.js';
import { readRecords } from '../helpers/records.js';
import { redisArgs, redisServer } from '../helpers/redis.js';
import { connectRedis, type RespClient } from '../helpers/resp-client.js';
import { waitFor } from '../helpers/wait.js';
import {
  backupLatest,
  daemon,
  startBackup,
  startShipper,
  stopDaemons,
  waitForFailoverReport,
} from '../replicate/helpers.js';

let client: RespClient | undefined;
let holder: PidHolder | undefined;
afterEach(async () => {
  client?.close();
  client = undefined;
  await stopDaemons();
  await holder?.release();
  holder = undefined;
});

/**
 * Runs the scenario up to the failover and returns the client with the last value it saw. `uncovered`
 * INCRs are sent after the covering checkpoint reached the backup, just before the crash: replies that no
 * checkpoint on the backup covers (0 in the real test; more in the negative control).
 */
async function crashAfterCheckpoint(mode: 'full' | 'delta', uncovered: number, pidNamespace = false) {
  const redis = await redisServer();
  const { primary, backup } = pidNamespace ? networkPlan('p7', '10.122') : networkPlan('rn', '10.71');
  const root = await imagesDir();
  const images = join(root, 'images');
  const backupDir = join(root, 'backup');
  const address = primary.address.address;
  const port = 6000 + (process.pid % 1000);
  await writeFile(
    join(root, 'primary.yaml'),
    `policy: { kind: fixed }\ninterval: { initial: 300ms, min: 300ms, max: 300ms }\ncheckpoint: { mode: ${mode}, dir: ./images, retention: { keep: 4 } }\n${networkYaml(primary)}`,
  );
  await writeFile(join(root, 'backup.yaml'), networkYaml(backup));

  const backupDaemon = await startBackup(backupDir, ['--failover-after', '3s', '--config', join(root, 'backup.yaml')]);
  const run = daemon([
    'run',
    '--config',
    join(root, 'primary.yaml'),
    ...(pidNamespace ? ['--pid-namespace'] : []),
    '--',
    redis,
    ...redisArgs(address, port, root),
  ]);
  const pid = await waitFor(
    'redis to be started',
    () => Number(/started \S+ as pid (\d+)/.exec(run.log())?.[1]) || undefined,
    30_000,
  );
  const shipper = await startShipper(images, backupDaemon.port, ['--pid', String(pid)]);
  client = await connectRedis(address, port);
  const connection = client.local;

  // INCRs while remusd checkpoints (each dump holds the network lock for a moment: TCP resends).
  const until = performance.now() + 4000;
  while (performance.now() < until) await client.incr('counter');
  const lastAckWall = Date.now();

  // The client pauses until the backup holds a checkpoint that began after its last reply.
  const covering = await waitFor(
    'a checkpoint taken after the last reply, on the backup',
    async () => {
      const name = await backupLatest(backupDir);
      if (name === '') return undefined;
      const record = (await readRecords(join(images, 'records.jsonl'))).find((r) => r.seq === Number(name));
      return record !== undefined && Date.parse(record.start) > lastAckWall ? name : undefined;
    },
    30_000,
    50,
  );

  for (let i = 0; i < uncovered; i++) await client.incr('counter');
  const lastSeen = client.acknowledged.at(-1)!;
  // With a pid namespace the backup is paused over the crash until an unrelated process holds redis's host
  // pid: its restore (fired by 3 s of silence) must meet the pid taken. Unpaused, the restore could fork
  // first, and even get the freed pid back: the holder aims the next fork at it (ns_last_pid).
  if (pidNamespace) backupDaemon.process.kill('SIGSTOP');
  // The primary host crashes: its link first (the dying kernel's FIN/RST must not reach the client), then everything.
  await cutLink(primary);
  for (const process_ of [run.process, shipper.process]) process_.kill('SIGKILL');
  await killNamespaceProcesses(primary.namespace);
  if (pidNamespace) {
    holder = await occupyPid(pid);
    backupDaemon.process.kill('SIGCONT');
  }

  const report = await waitForFailoverReport(backupDir, 30_000);
  expect(report, backupDaemon.log()).toMatchObject({
    ok: true,
    network: { namespace: backup.namespace, address, host_interface: backup.hostInterface },
  });
  expect(Number(report.checkpoint)).toBeGreaterThanOrEqual(Number(covering));
  expect(await processNamespaceInode(report.pid!)).toBe(await namespaceInode(backup.namespace));
  expect(await routeTo(address)).toEqual({ dev: backup.hostInterface, prefsrc: backup.hostAddress });

  return { client, connection, lastValue: lastSeen, report, pid };
}

async function failoverKeepsTheConnection(mode: 'full' | 'delta', pidNamespace = false) {
  const { client, connection, lastValue, report, pid } = await crashAfterCheckpoint(mode, 0, pidNamespace);
  if (pidNamespace) {
    // Restored into a new pid namespace: pid 1 inside, a new host pid, while the old one is still held.
    expect(report.pid).not.toBe(pid);
    expect(await namespacePids(report.pid!)).toEqual([report.pid, 1]);
    expect(await isAlive(holder!.pid)).toBe(true);
  }
  // The same connection goes on with the next value: no reset, no reconnect, nothing lost or repeated.
  const resumed = performance.now();
  const next = await client.incr('counter', 30_000);
  const resumeMs = Math.round(performance.now() - resumed);
  expect(next).toBe(lastValue + 1);
  for (let i = 0; i < 20; i++) await client.incr('counter');
  expect(client.local).toBe(connection);
  expect(client.events).toEqual([]);
  expect(client.acknowledged).toEqual(Array.from({ length: client.acknowledged.length }, (_, i) => i + 1));
  console.log(
    `redis ${mode}${pidNamespace ? ` (pid namespace, host pid ${pid} taken; restored as ${report.pid})` : ''}: ${lastValue} INCRs before the crash, restored ${report.checkpoint} (${report.reason}) in ${report.trigger_to_restored_ms} ms ` +
      `from the trigger (criu restore ${report.restore_ms} ms, route ${report.network?.route_ms} ms); first INCR after it answered in ${resumeMs} ms`,
  );
}

describe('redis under remusd run, failed over to the backup namespace: the client keeps its connection', () => {
  it('mode full', { timeout: 180_000 }, () => failoverKeepsTheConnection('full'));
  it('mode delta', { timeout: 180_000 }, () => failoverKeepsTheConnection('delta'));
  it('mode delta, redis a pid namespace init whose host pid is taken before the restore', { timeout: 180_000 }, () =>
    failoverKeepsTheConnection('delta', true),
  );

  // Negative control: the same crash, but the client saw 5 replies that no checkpoint on the backup covers
  // (what output commit exists to prevent). The restored socket is behind what the client acknowledged, so
  // the connection cannot go on as if nothing happened: it stalls, breaks, or answers a stale value.
  it(
    'control: replies seen after the newest shipped checkpoint break the continuation',
    { timeout: 180_000 },
    async () => {
      const { client, lastValue } = await crashAfterCheckpoint('full', 5);
      const outcome = await client.incr('counter', 10_000).then(
        (value) => (value === lastValue + 1 ? 'continued' : `stale value ${value} after ${lastValue}`),
        (error: Error) => `failed: ${error.message}`,
      );
      console.log(
        `redis control: after seeing ${lastValue}, the next INCR ${outcome}; socket events ${JSON.stringify(client.events.map((e) => e.what))}`,
      );
      expect(outcome).not.toBe('continued');
    },
  );
});
