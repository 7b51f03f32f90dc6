// Output commit: what holding a service's output costs its clients, and what the TUN gate can carry.
//
// 1. Client request latency (p50, p99) of a real TCP service (src/workload/counter-server.c) under remusd run
//    with real CRIU: output commit at 50 ms and at 200 ms epochs, against the epoch-buffering bound
//    interval/2 + checkpoint wall time (the median CRIU wall time of the same run), and the same service
//    with output commit off (baseline: the same requests before remusd attached).
// 2. Gate throughput against the plain veth path at 1500-byte packets (src/bench/gate-throughput.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { networkDumpArgs } from '../criu/network.js';
import { closeServiceNetwork, openServiceNetwork, parseIpv4Cidr, routeToServiceNetwork, type NetworkConfig, type ServiceNetwork } from '../net/index.js';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';
import { startSessionLeader } from '../process/session-leader.js';
import { CounterClient, quantile } from './counter-client.js';
import { gateThroughput } from './gate-throughput.js';
import { compareRow, type BenchRow } from './harness.js';

const BENCH = 'output-commit';
const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
const CLIENT_SECONDS = 6;

export async function run(): Promise<BenchRow[]> {
  const cidr = parseIpv4Cidr('10.102.251.2/24');
  if (!cidr.ok) throw new Error(cidr.error);
  const name = `rgbench${process.pid % 100000}`;
  const config: NetworkConfig = { namespace: name, address: cidr.value, hostAddress: '10.102.251.1', hostInterface: name };
  const dir = await mkdtemp(join(tmpdir(), 'remusd-bench-oc-'));
  const network = await openServiceNetwork(config, { info: () => undefined });
  try {
    await routeToServiceNetwork(config);
    const rows: BenchRow[] = [];
    for (const [label, intervalMs, enabled] of [
      ['output commit, 50 ms', 50, true],
      ['output commit, 200 ms', 200, true],
      ['output commit off, 200 ms', 200, false],
    ] as const) {
      rows.push(...(await latency(network, dir, label, intervalMs, enabled)));
    }
    rows.push(await gateThroughput(BENCH, network));
    return rows;
  } finally {
    await closeServiceNetwork(config).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

async function latency(network: ServiceNetwork, dir: string, label: string, intervalMs: number, enabled: boolean): Promise<BenchRow[]> {
  const server = await ensureBundledBinary(join(packageRoot(), 'src', 'workload', 'counter-server.c'), 'remusd-counter-server');
  const images = join(dir, `images-${intervalMs}-${enabled}`);
  const configPath = join(dir, `remusd-${intervalMs}-${enabled}.yaml`);
  await writeFile(
    configPath,
    [
      `interval: { initial: ${intervalMs}ms, min: ${intervalMs}ms, max: ${intervalMs}ms }`,
      'policy: { kind: fixed }',
      `checkpoint: { mode: full, dir: ${images} }`,
      `criu: { extra_args: ${JSON.stringify(networkDumpArgs(network.inode))} }`,
      ...(enabled ? [`output_commit: { enabled: true, interface: ${network.config.hostInterface} }`] : []),
    ].join('\n'),
  );
  const service = startSessionLeader('nsenter', [`--net=${network.path}`, server, '7401'], join(dir, 'service.out'));
  let client: CounterClient | undefined;
  const supervisor = execa(CLI, ['run', '--config', configPath, '--pid', String(service.pid)], { reject: false, stdin: 'ignore' });
  try {
    for (let i = 0; i < 50 && client === undefined; i++) {
      client = await CounterClient.connect(network.config.address.address, 7401, 2_000).catch(() => undefined);
      if (client === undefined) await sleep(100);
    }
    if (client === undefined) throw new Error('the counter service did not accept a connection');
    for (let i = 0; i < 50; i++) await client.increment(); // before remusd's first checkpoint: the direct path
    const direct = [...client.rttMs];
    await waitForFile(join(images, 'records.jsonl'));
    client.start();
    await sleep(CLIENT_SECONDS * 1000);
    await client.stop();
    const measured = client.rttMs.slice(direct.length);
    supervisor.kill('SIGINT');
    await supervisor;
    const records = (await readFile(join(images, 'records.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { criu_wall_ms: number });
    const wallMs = quantile(records.map((r) => r.criu_wall_ms), 0.5);
    const baseline = enabled
      ? { name: `bound interval/2 + CRIU wall (${wallMs.toFixed(0)} ms)`, value: intervalMs / 2 + wallMs }
      : { name: 'direct, before remusd', value: quantile(direct, 0.5) };
    return [
      compareRow({ bench: BENCH, name: `request p50, ${label} (${measured.length} requests)`, unit: 'ms', value: quantile(measured, 0.5), baseline }),
      compareRow({ bench: BENCH, name: `request p99, ${label}`, unit: 'ms', value: quantile(measured, 0.99), baseline }),
    ];
  } finally {
    client?.close();
    supervisor.kill('SIGKILL');
    try {
      process.kill(service.pid, 'SIGKILL');
    } catch {
      // gone
    }
    await sleep(200);
  }
}

async function waitForFile(path: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if ((await readFile(path, 'utf8').catch(() => '')).length > 0) return;
    await sleep(50);
  }
  throw new Error(`${path} did not appear within 30 s`);
}
