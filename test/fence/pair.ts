// A primary and a backup on two of the partition tests' "hosts" (hosts.ts), with etcd on the third: the backup
// with fencing listening, the primary's `remusd run` holding the lease and protecting a workload, and
// `remusd ship` replicating it. The workload is the bundled dirtier, or a real redis-server in its own network
// namespace behind the primary host (network section, optionally output commit released by the backup's ack),
// which the machine's own namespace reaches as the client.

import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { killNamespaceProcesses, networkPlan, networkYaml, type NetworkPlan } from '../helpers/net.js';
import { redisArgs, redisServer } from '../helpers/redis.js';
import { killAndWait } from '../helpers/workload.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { backupLatest, makePair, waitFor } from '../replicate/helpers.js';
import { fencingYaml, writeFencedConfig } from './helpers.js';
import { FENCE_NET, inHost, makeHosts, stopHostDaemons, type HostDaemon, type Hosts } from './hosts.js';

export const TTL_MS = 2000;
export const FAILOVER_AFTER_MS = 1000;
const PORT = 7070; // inside the backup's own namespace: no other process can hold it
const REDIS_PORT = 6379; // inside the service's own namespace

export interface PairOptions {
  workload: 'dirtier' | 'redis';
  /** redis only: output commit released by the backup's ack (default true). */
  outputCommit?: boolean;
  /** The configured fence action (default kill: on one machine a frozen original keeps the pid a restore needs). */
  onFence?: 'freeze' | 'kill';
  /** The lease TTL (default TTL_MS). */
  ttlMs?: number;
  /** redis with output commit: output_commit.degrade_after (default: the config's own default). */
  degradeAfter?: string;
}

/** Where the primary's `remusd run` serves its metrics, inside the primary host's namespace (metricsOf). */
export const METRICS_PORT = 9464;

export interface Pair {
  hosts: Hosts;
  etcd: TestEtcd;
  images: string;
  backupDir: string;
  workloadLog: string;
  run: HostDaemon;
  ship: HostDaemon;
  backup: HostDaemon;
  pid: number;
  name: string;
  /** redis only: the service address and port, and the namespaces behind the primary and the backup host. */
  service?: { address: string; port: number; plan: NetworkPlan };
}

let workloadPid: number | undefined;
const plans: NetworkPlan[] = [];
afterEach(async () => {
  await stopHostDaemons();
  if (workloadPid !== undefined) await killAndWait(workloadPid);
  workloadPid = undefined;
  // The restored redis and anything else left in the service namespaces: the next test restores the same pids.
  for (const plan of plans.splice(0))
    for (const side of [plan.primary, plan.backup]) await killNamespaceProcesses(side.namespace);
});

export const latestOf = (dir: string) => readlink(join(dir, 'latest')).catch(() => '');
export const readJson = async <T>(path: string) =>
  JSON.parse(await readFile(path, 'utf8').catch(() => 'null')) as T | null;

/** The three hosts, etcd, a backup with fencing, and a fenced primary running and shipping the workload. */
export async function pairOfHosts(options: PairOptions): Promise<Pair> {
  const criu = await testCriu();
  const hosts = await makeHosts();
  const etcd = await startEtcd({ netns: hosts.ns.etcd });
  const keys = await makePair();
  const root = await imagesDir('remusd-fence-');
  const name = `svc${process.pid}x${Math.floor(Math.random() * 1e6)}`;
  const fencing = { name, ttl: `${options.ttlMs ?? TTL_MS}ms`, onFence: options.onFence ?? 'kill' };
  let primaryExtra = '';
  let backupExtra = '';
  let service: Pair['service'];
  if (options.workload === 'redis') {
    const plan = networkPlan('rfw', FENCE_NET, hosts.serviceSubnet);
    plans.push(plan);
    service = { address: plan.primary.address.address, port: REDIS_PORT, plan };
    const degrade = options.degradeAfter === undefined ? '' : `, degrade_after: ${options.degradeAfter}`;
    primaryExtra =
      networkYaml(plan.primary) +
      ((options.outputCommit ?? true) ? `output_commit: { enabled: true, release_after: backup-ack${degrade} }\n` : '');
    primaryExtra += `metrics: { listen: 127.0.0.1:${METRICS_PORT} }\n`;
    backupExtra = networkYaml(plan.backup);
    // The client reaches the service through the primary host; nothing is sent to it before this route exists.
    await hosts.routeClient(service.address, 'primary');
  }
  const primaryConfig = await writeFencedConfig(
    root,
    'primary.yaml',
    fencingYaml(`http://${hosts.addr.etcdFromPrimary}:2379`, 'host-a', fencing) + primaryExtra,
  );
  const backupConfig = await writeFencedConfig(
    root,
    'backup.yaml',
    fencingYaml(`http://${hosts.addr.etcdFromBackup}:2379`, 'host-b', fencing) + backupExtra,
  );
  const images = join(root, 'images');
  const backupDir = join(root, 'backup');
  const workloadLog = join(root, 'workload.out');
  const backup = inHost(hosts.ns.backup, [
    'backup',
    '--dir',
    backupDir,
    '--listen',
    `${hosts.addr.backup}:${PORT}`,
    '--keys',
    keys.backupDir,
    '--failover-after',
    `${FAILOVER_AFTER_MS}ms`,
    '--config',
    backupConfig,
    '--criu',
    criu.command,
  ]);
  await waitFor('the backup to listen', () => (/listening on/.test(backup.out()) ? true : undefined), 30_000);
  const command =
    service === undefined
      ? [await ensureDirtierBinary(), '--mib', '16', '--phases', '200:1000000', '--report-ms', '50']
      : [await redisServer(), ...redisArgs(service.address, service.port, root)];
  const run = inHost(hosts.ns.primary, [
    'run',
    '--config',
    primaryConfig,
    '--workload-log',
    workloadLog,
    '--',
    ...command,
  ]);
  const pid = await waitFor(
    'the workload',
    () => Number(/started \S+ as pid (\d+)/.exec(run.log())?.[1]) || undefined,
    30_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nRUN:\n${run.log()}`);
  });
  workloadPid = pid;
  const ship = inHost(hosts.ns.primary, [
    'ship',
    '--images',
    images,
    '--to',
    `${hosts.addr.backup}:${PORT}`,
    '--keys',
    keys.primaryDir,
    '--pid',
    String(pid),
  ]);
  await waitFor(
    'a checkpoint on the backup',
    async () => ((await backupLatest(backupDir)) !== '' ? true : undefined),
    60_000,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nRUN:\n${run.log().slice(-3000)}\nSHIP:\n${ship.log().slice(-2000)}`);
  });
  return {
    hosts,
    etcd,
    images,
    backupDir,
    workloadLog,
    run,
    ship,
    backup,
    pid,
    name,
    ...(service === undefined ? {} : { service }),
  };
}

/** The client's route follows the lease, as vip-manager does for Patroni: to the backup host once the backup logs that it holds it. */
export async function routeFollowsLease(p: Pair, timeoutMs = 60_000): Promise<number> {
  await waitFor(
    'the backup to hold the lease',
    () => (/holding \/remusd-test\/\S+\/leader as host-b/.test(p.backup.log()) ? true : undefined),
    timeoutMs,
    20,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\nBACKUP:\n${p.backup.log().slice(-3000)}`);
  });
  const at = Date.now();
  await p.hosts.routeClient(p.service!.address, 'backup');
  return at;
}
