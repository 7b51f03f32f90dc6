// Output commit: what holding a service's output costs its clients, and what the TUN gate can carry.
//
// 1. Request latency (p50, p99) of redis's clients under remusd run with real CRIU (src/bench/redis-latency.ts):
//    output commit at 50 ms and at 200 ms epochs, each with CRIU's nftables lock during dumps (it drops what
//    arrives; clients resend after 200 ms+, a SYN after 1 s) and with remusd's lossless hold; against the
//    epoch-buffering bound interval/2 + checkpoint wall time (the median CRIU wall time of the same run), and
//    the same service with output commit off. Fresh connections: the lossless hold against CRIU's lock.
// 2. Gate throughput against the plain veth path at 1500-byte packets (src/bench/gate-throughput.ts), and
//    for one TCP stream (src/bench/gate-tcp-throughput.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  closeServiceNetwork,
  openServiceNetwork,
  parseIpv4Cidr,
  routeToServiceNetwork,
  type NetworkConfig,
} from '../net/index.js';
import { quantile } from './counter-client.js';
import { gateTcpThroughput } from './gate-tcp-throughput.js';
import { gateThroughput } from './gate-throughput.js';
import { compareRow, type BenchRow } from './harness.js';
import { measureRedis, STALL_MS, type LatencyResult, type LatencyVariant } from './redis-latency.js';

const BENCH = 'output-commit';

export async function run(): Promise<BenchRow[]> {
  const dir = await mkdtemp(join(tmpdir(), 'remusd-bench-oc-'));
  const id = process.pid % 10000;
  let runs = 0;
  const measure = (variant: LatencyVariant) => {
    runs += 1;
    return measureRedis(variant, dir, `rlb${id}x${runs}`, 200 + runs);
  };
  try {
    const rows: BenchRow[] = [];
    const off = await measure({ intervalMs: 200, outputCommit: false, inbound: 'drop' });
    rows.push(plain('redis INCR p50, output commit off (checkpoints every 200 ms, CRIU lock)', off.requestsMs, 0.5));
    rows.push(plain('redis INCR p99, output commit off (checkpoints every 200 ms, CRIU lock)', off.requestsMs, 0.99));
    for (const intervalMs of [50, 200]) {
      const dropped = await measure({ intervalMs, outputCommit: true, inbound: 'drop' });
      const held = await measure({ intervalMs, outputCommit: true, inbound: 'hold' });
      for (const [lock, result] of [
        ['CRIU nftables lock', dropped],
        ['lossless hold', held],
      ] as const) {
        for (const q of [0.5, 0.99])
          rows.push(
            againstBound(`redis INCR p${q * 100}, output commit ${intervalMs} ms, ${lock}`, result, intervalMs, q),
          );
      }
      rows.push(
        compareRow({
          bench: BENCH,
          name: `fresh connection + INCR p99, output commit ${intervalMs} ms: lossless hold (${held.freshMs.length} tries)`,
          unit: 'ms',
          value: quantile(held.freshMs, 0.99),
          baseline: {
            name: `CRIU nftables lock (${dropped.freshMs.length} tries)`,
            value: quantile(dropped.freshMs, 0.99),
          },
        }),
      );
    }
    rows.push(...(await throughput()));
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function plain(name: string, values: number[], q: number): BenchRow {
  return { bench: BENCH, name: `${name} (${values.length} requests)`, unit: 'ms', value: quantile(values, q) };
}

function againstBound(name: string, result: LatencyResult, intervalMs: number, q: number): BenchRow {
  return compareRow({
    bench: BENCH,
    name: `${name} (${result.requestsMs.length} requests, ${result.checkpoints} checkpoints${result.stalled ? `; the connection STALLED for ${STALL_MS / 1000} s, counted as such` : ''})`,
    unit: 'ms',
    value: quantile(result.requestsMs, q),
    baseline: {
      name: `interval/2 + CRIU wall (${result.criuWallMs.toFixed(0)} ms)`,
      value: intervalMs / 2 + result.criuWallMs,
    },
  });
}

async function throughput(): Promise<BenchRow[]> {
  const cidr = parseIpv4Cidr('10.102.251.2/24');
  if (!cidr.ok) throw new Error(cidr.error);
  const name = `rgbench${process.pid % 100000}`;
  const config: NetworkConfig = {
    namespace: name,
    address: cidr.value,
    hostAddress: '10.102.251.1',
    hostInterface: name,
  };
  const network = await openServiceNetwork(config, { info: () => undefined });
  try {
    await routeToServiceNetwork(config);
    return [...(await gateThroughput(BENCH, network)), ...(await gateTcpThroughput(BENCH, network))];
  } finally {
    await closeServiceNetwork(config).catch(() => undefined);
  }
}
