// A throwaway etcd for tests: Debian 12's etcd 3.4, unpacked by scripts/install-etcd.sh into /opt/remusd/etcd
// (never started as a system service). Each server gets free ports and a temporary data directory, and is
// stopped and removed after the test file. In a network namespace (a "host" of the partition tests) it
// listens on the namespace's address instead of loopback.

import { access, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';

/** Where scripts/install-etcd.sh puts etcd; REMUSD_ETCD_PREFIX overrides it, as in the script. */
export const ETCD_PREFIX = process.env.REMUSD_ETCD_PREFIX ?? '/opt/remusd/etcd';
const ETCD = join(ETCD_PREFIX, 'usr', 'bin', 'etcd');
const ETCDCTL = join(ETCD_PREFIX, 'usr', 'bin', 'etcdctl');

/** A running test etcd. */
export interface TestEtcd {
  /** The client URL, e.g. http://127.0.0.1:40123. */
  endpoint: string;
  pid: number;
  dataDir: string;
  /** SIGSTOP: etcd stops answering but keeps its state (and its clients' TCP connections stay open). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** SIGTERM and wait; idempotent. */
  stop(): Promise<void>;
  /** What etcd logged so far (for failure messages). */
  log(): string;
}

const running = new Set<TestEtcd>();
afterAll(async () => {
  await Promise.all([...running].map((etcd) => etcd.stop()));
});

/** Fails with the fix when etcd is not installed: these tests never skip. */
export async function requireEtcd(): Promise<void> {
  try {
    await access(ETCD);
    await access(ETCDCTL);
  } catch {
    throw new Error(
      `etcd is not installed at ${ETCD}: run \`bash scripts/install-etcd.sh\` as root (scripts/setup.sh does)`,
    );
  }
}

/** A port that was free a moment ago (the kernel's choice for port 0). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, host, resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts etcd on loopback (free ports), or with `netns` inside /run/netns/NETNS on every address of the
 * namespace (ports 2379/2380 are then the namespace's own). Resolves once `etcdctl endpoint health` says so.
 */
export async function startEtcd(options: { netns?: string } = {}): Promise<TestEtcd> {
  await requireEtcd();
  const host = '127.0.0.1';
  const inNetns = options.netns !== undefined;
  const [clientPort, peerPort] = inNetns ? [2379, 2380] : [await freePort(host), await freePort(host)];
  const dataDir = await mkdtemp(join(tmpdir(), 'remusd-etcd-'));
  const client = `http://${host}:${clientPort}`;
  const peer = `http://${host}:${peerPort}`;
  const args = [
    '--name',
    'test',
    '--data-dir',
    dataDir,
    '--listen-client-urls',
    inNetns ? `http://0.0.0.0:${clientPort}` : client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `test=${peer}`,
    '--initial-cluster-state',
    'new',
    // A test's worth of writes: no need for etcd's default 10 000-entry snapshots or 2 GiB quota.
    '--snapshot-count',
    '1000',
  ];
  const wrap = (file: string, rest: string[]): [string, string[]] =>
    inNetns ? ['nsenter', [`--net=/run/netns/${options.netns}`, file, ...rest]] : [file, rest];
  const [file, argv] = wrap(ETCD, args);
  let output = '';
  const child: ResultPromise = execa(file, argv, { reject: false, stdin: 'ignore', all: true, cleanup: true });
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  });
  let stopped: Promise<void> | undefined;
  const etcd: TestEtcd = {
    endpoint: client,
    pid: child.pid!,
    dataDir,
    pause: () => void child.kill('SIGSTOP'),
    resume: () => void child.kill('SIGCONT'),
    stop: () =>
      (stopped ??= (async () => {
        running.delete(etcd);
        child.kill('SIGCONT');
        child.kill('SIGTERM');
        await child;
        await rm(dataDir, { recursive: true, force: true });
      })()),
    log: () => output,
  };
  running.add(etcd);
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [ctl, ctlArgs] = wrap(ETCDCTL, ['--endpoints', client, '--dial-timeout', '1s', 'endpoint', 'health']);
    const health = await execa(ctl, ctlArgs, { reject: false, timeout: 5000, env: { ETCDCTL_API: '3' } });
    if (health.exitCode === 0) return etcd;
    if (child.exitCode !== null || Date.now() > deadline) {
      await etcd.stop();
      throw new Error(`etcd did not become healthy at ${client}: ${health.stderr}\n${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
