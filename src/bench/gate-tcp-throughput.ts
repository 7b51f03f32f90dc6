// The TUN gate with one bulk TCP stream from the namespace to the host (src/workload/tcp-stream.c), against
// the plain veth path in the same repetition: what a real protocol gets through 20 ms epochs. Unlike the
// UDP row, nothing is paced or lost on purpose: TCP's own congestion control finds the rate, and the gate's
// holds show up as round trips of up to RELEASE_MS (plus the release's own time) in each window.
import { readFile } from 'node:fs/promises';
import type { ServiceNetwork } from '../net/index.js';
import { ensureTcpStreamBinary } from '../workload/build.js';
import { GATE_ARMS, medianRun, REPETITIONS, RELEASE_MS, SECONDS, throughGate } from './gate-throughput.js';
import { at } from '../at.js';
import { compareRow, type BenchRow } from './harness.js';
import { streamFromNamespace } from './namespace-stream.js';

/** One row per gate arm: the median over REPETITIONS of the gated stream's rate over the plain one's, same repetition. */
export async function gateTcpThroughput(bench: string, network: ServiceNetwork): Promise<BenchRow[]> {
  const binary = await ensureTcpStreamBinary();
  // Named in the row: with BBR (this host's default) the window is ~2 x bandwidth x the smallest RTT seen,
  // which is the unheld sub-millisecond path, while a held segment's RTT is up to an epoch.
  const congestion = (
    await readFile('/proc/sys/net/ipv4/tcp_congestion_control', 'utf8').catch(() => 'unknown')
  ).trim();
  const runs = GATE_ARMS.map(() => [] as { plain: number; gated: number; helperUs: number; helperMsPerMB: number }[]);
  for (let i = 0; i < REPETITIONS; i++) {
    const plain = await stream(binary, network);
    for (const [arm, { offload }] of GATE_ARMS.entries()) {
      const { result, ...helper } = await throughGate(network, () => stream(binary, network), offload);
      at(runs, arm).push({ plain, gated: result, ...helper });
    }
  }
  return GATE_ARMS.map(({ label }, arm) => {
    const { median, ratios } = medianRun(at(runs, arm));
    return compareRow({
      bench,
      name:
        `TUN gate throughput, one ${SECONDS} s TCP stream (${congestion}), ${label}, releases every ${RELEASE_MS} ms (median of ${REPETITIONS}: ${ratios}×; ` +
        `helper CPU ${median.helperUs.toFixed(1)} µs/packet, ${median.helperMsPerMB.toFixed(2)} ms/MB)`,
      unit: 'MB/s',
      value: median.gated / 1e6,
      baseline: { name: 'plain veth, same repetition', value: median.plain / 1e6 },
    });
  });
}

// One stream from inside the namespace to the host for SECONDS; returns the bytes received per second
// between the first byte and the last.
async function stream(binary: string, network: ServiceNetwork): Promise<number> {
  const last = await streamFromNamespace(binary, network, 'tcp-stream', {
    recv: [],
    send: [String(SECONDS * 1000)],
  });
  const match = /^received (\d+) span_us (\d+)/.exec(last);
  if (match?.[1] === undefined || match[2] === undefined)
    throw new Error(`tcp-stream recv ended with ${JSON.stringify(last)}`);
  return Number(match[1]) / (Math.max(1, Number(match[2])) / 1e6);
}
