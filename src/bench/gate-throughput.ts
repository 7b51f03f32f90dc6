// The TUN gate's throughput against the plain veth path, at 1500-byte packets (UDP, 1472-byte payloads),
// from the namespace to the host, measured with a C sender and receiver (src/workload/udp-stream.c) so that
// the figure is the data path's, not Node's (a Node pair ran at ~8 MB/s and bounded both paths alike).
//
// Each repetition first floods the plain path for SECONDS (the sender does all the path's work in its own
// sendmmsg calls, so it cannot outrun it: no loss), then offers the gate the SAME rate, paced, with the gate
// releasing every RELEASE_MS. A gate that cannot keep up loses datagrams or slows the sender; what counts is
// the bytes that reached the receiver. Unpaced, the sender outran the gate (its work ends at the TUN queue)
// and its own CPU time starved the gate helper: 70-90% loss, which measured the scheduler, not the gate.
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { TunGate } from '../gate/tun.js';
import { gateTunName } from '../gate/start.js';
import type { ServiceNetwork } from '../net/index.js';
import { cpuTicks } from '../process/proc.js';
import { ensureUdpStreamBinary } from '../workload/build.js';
import { at } from '../at.js';
import { compareRow, type BenchRow } from './harness.js';
import { streamFromNamespace } from './namespace-stream.js';

export const SECONDS = 2;
export const REPETITIONS = 5;
export const RELEASE_MS = 20;
const PAYLOAD = 1472; // + 28 bytes of IPv4 and UDP headers = 1500-byte packets

/** The gate's arms, run in turns in each repetition: with GSO offload (the gate now), and without (before). */
export const GATE_ARMS = [
  { offload: true, label: 'GSO offload' },
  { offload: false, label: 'no offload (the gate before GSO)' },
] as const;

/**
 * One row per arm: the median over REPETITIONS of the gate's rate over the plain path's in the same
 * repetition. Each repetition runs the plain path, then each arm offered the plain path's rate.
 */
export async function gateThroughput(bench: string, network: ServiceNetwork): Promise<BenchRow[]> {
  const binary = await ensureUdpStreamBinary();
  const runs = GATE_ARMS.map(
    () => [] as { plain: number; gated: number; loss: number; helperUs: number; helperMsPerMB: number }[],
  );
  for (let i = 0; i < REPETITIONS; i++) {
    const plain = await stream(binary, network, undefined);
    for (const [arm, { offload }] of GATE_ARMS.entries()) {
      const through = await throughGate(network, () => stream(binary, network, plain.rate), offload);
      at(runs, arm).push({
        plain: plain.rate,
        gated: through.result.rate,
        loss: through.result.loss,
        helperUs: through.helperUs,
        helperMsPerMB: through.helperMsPerMB,
      });
    }
  }
  return GATE_ARMS.map(({ label }, arm) => {
    const { median, ratios } = medianRun(at(runs, arm));
    return {
      ...compareRow({
        bench,
        name:
          `TUN gate throughput, 1500-byte UDP packets, ${label}, releases every ${RELEASE_MS} ms (median of ${REPETITIONS}: ${ratios}×; ` +
          `its loss ${(median.loss * 100).toFixed(0)}%, helper CPU ${median.helperUs.toFixed(1)} µs/packet, ${median.helperMsPerMB.toFixed(2)} ms/MB)`,
        unit: 'MB/s',
        value: median.gated / 1e6,
        baseline: { name: 'plain veth, same repetition', value: median.plain / 1e6 },
      }),
      target: '≥ 0.5× plain veth',
      pass: median.gated / median.plain >= 0.5,
    };
  });
}

/** The repetition with the median gated/plain ratio, and every repetition's ratio, lowest first. */
export function medianRun<T extends { plain: number; gated: number }>(runs: T[]): { median: T; ratios: string } {
  const sorted = [...runs].sort((a, b) => a.gated / a.plain - b.gated / b.plain);
  return {
    median: at(sorted, sorted.length >> 1),
    ratios: sorted.map((r) => (r.gated / r.plain).toFixed(2)).join(', '),
  };
}

/**
 * Runs `body` (a stream from the namespace) through a TUN gate on the network's veth that releases every
 * RELEASE_MS, then opens the gate; returns body's result and the helper's CPU meanwhile, per packet it read
 * (with GSO offload a packet is up to 64 KiB) and per MB.
 */
export async function throughGate<T>(
  network: ServiceNetwork,
  body: () => Promise<T>,
  offload: boolean,
): Promise<{ result: T; helperUs: number; helperMsPerMB: number }> {
  const tun = gateTunName(network.config.hostInterface);
  const gate = await TunGate.start({
    hostInterface: network.config.hostInterface,
    tun,
    maxHeldBytes: 64 << 20,
    offload,
  });
  let stop = false;
  let epoch = 0;
  const releasing = (async () => {
    while (!stop) {
      epoch += 1;
      await gate.barrier(epoch);
      await gate.release(epoch);
      await sleep(RELEASE_MS);
    }
  })();
  try {
    const before = await helperWork(gate.helperPid, tun);
    const result = await body();
    const after = await helperWork(gate.helperPid, tun);
    const cpuUs = (after.ticks - before.ticks) * 10_000;
    return {
      result,
      helperUs: cpuUs / Math.max(1, after.packets - before.packets),
      helperMsPerMB: cpuUs / 1000 / Math.max(1e-9, (after.bytes - before.bytes) / 1e6),
    };
  } finally {
    stop = true;
    await releasing;
    await gate.open();
  }
}

// The gate helper's CPU time so far (ticks of 10 ms) and the packets and bytes it has read from its TUN
// device (the device's tx_packets, tx_bytes): their ratio over a stream is what the gate costs per packet.
async function helperWork(
  pid: number | undefined,
  tun: string,
): Promise<{ ticks: number; packets: number; bytes: number }> {
  const ticks = pid === undefined ? undefined : await cpuTicks(pid);
  if (ticks === undefined) throw new Error('the gate helper is gone');
  const stat = async (name: string) =>
    Number((await readFile(`/sys/class/net/${tun}/statistics/${name}`, 'utf8')).trim());
  return { ticks, packets: await stat('tx_packets'), bytes: await stat('tx_bytes') };
}

// Datagrams from inside the namespace to the host for SECONDS, unpaced or at `rate` (bytes/s); returns what
// reached the receiver (IP bytes per second of sending) and the share of the numbered datagrams never seen.
async function stream(
  binary: string,
  network: ServiceNetwork,
  rate: number | undefined,
): Promise<{ rate: number; loss: number }> {
  // It ends at the sender's end marker; 5 s of silence is only the fallback (a starved gate's release can
  // come a second late at load 20 here, which a 1 s fallback counted as the end of the stream).
  const last = await streamFromNamespace(binary, network, 'udp-stream', {
    recv: ['5000'],
    send: [String(SECONDS * 1000), String(PAYLOAD), ...(rate === undefined ? [] : [String(Math.round(rate))])],
  });
  const match = /^received \d+ bytes (\d+) span_us \d+ next (\d+) missing (\d+)/.exec(last);
  if (match === null) throw new Error(`udp-stream recv ended with ${JSON.stringify(last)}`);
  const sent = Number(match[2]);
  return { rate: Number(match[1]) / SECONDS, loss: sent === 0 ? 0 : Number(match[3]) / sent };
}
