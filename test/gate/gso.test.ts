import { createSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EpochReleased } from '../../src/gate/gate.js';
import { TunGate } from '../../src/gate/tun.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { createTestNamespace, type TestNamespace } from './netns.js';
import { type LineProcess, startPeer } from './peer-process.js';

// GSO through the TUN gate. With IFF_VNET_HDR and TUNSETOFFLOAD the workload's 64 KiB TCP packets reach the
// helper whole and go back into the host whole; without them the kernel cuts every one into MTU-sized
// packets before the gate. A held packet larger than the MTU (1500 here) is only possible with GSO, so the
// mean size of what the gate released tells the two apart; the run with offload off is the control.
// The memory test checks that the helper's packet memory (its read stage and its store) stays within
// --max-bytes when every packet is ~60 KB: the stage used to take up to 16 MiB outside the bound.

const MTU = 1500;
let ns: TestNamespace;
let peer: LineProcess;
let tunCounter = 0;
const tunName = () => `g7t${process.pid % 100000}${++tunCounter}`;

beforeAll(async () => {
  ns = await createTestNamespace('o', { prefix: 'g7', octets: '10.120', ipv6: true });
  peer = startPeer(ns.name);
});

afterAll(async () => {
  peer?.kill();
  await ns?.remove();
});

/** Barrier and release every `ms` until stopped; returns the sums of what was released. */
function releaseEvery(
  gate: TunGate,
  ms: number,
): { stop(): Promise<{ packets: number; bytes: number; dropped: number }> } {
  let stopped = false;
  const totals = { packets: 0, bytes: 0, dropped: 0 };
  const add = (r: EpochReleased) => {
    totals.packets += r.packets;
    totals.bytes += r.bytes;
    totals.dropped += r.dropped;
  };
  let epoch = 0;
  const loop = (async () => {
    while (!stopped) {
      epoch += 1;
      await gate.barrier(epoch);
      add(await gate.release(epoch));
      await sleep(ms);
    }
    // What the last round left (the stream's final packets) goes out too.
    epoch += 1;
    await gate.barrier(epoch);
    add(await gate.release(epoch));
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return totals;
    },
  };
}

/** Asks the peer for `size` bytes over TCP to `address` and reads them; resolves with the bytes that were not the pattern. */
async function bulkFrom(address: string, port: number, size: number): Promise<{ received: number; wrong: number }> {
  const socket = connect({ host: address, port });
  let received = 0;
  let wrong = 0;
  socket.on('data', (data: Buffer) => {
    for (const byte of data) if (byte !== 0x62) wrong += 1;
    received += data.length;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(`bulk ${size}`);
  try {
    await waitFor('the bulk reply', () => (received >= size ? true : undefined), 90_000);
  } finally {
    socket.destroy();
  }
  return { received, wrong };
}

describe('GSO through the TUN gate', () => {
  let port = 0;
  beforeAll(async () => {
    const answer = await peer.ask('listen 0');
    port = Number(/^ok (\d+)$/.exec(answer)?.[1]);
    expect(port).toBeGreaterThan(0);
  });

  const SIZE = 4 << 20;
  for (const family of ['IPv4', 'IPv6'] as const) {
    for (const offload of [true, false]) {
      it(
        `${family}, offload ${offload ? 'on: GSO packets are held whole' : 'off (control): every packet is MTU-sized'}; every byte arrives`,
        { timeout: 120_000 },
        async () => {
          // With the inbound hold's TAP too, as `remusd run` has it: the client's ACKs (and for IPv6 the
          // host's neighbour solicitations) reach the namespace through the helper.
          const tun = tunName();
          const gate = await TunGate.start({
            hostInterface: ns.hostInterface,
            tun,
            maxHeldBytes: 64 << 20,
            inboundTap: `${tun}i`,
            offload,
          });
          const releases = releaseEvery(gate, 20);
          try {
            if (offload) expect(gate.offload).toMatch(/tso4,tso6/);
            else expect(gate.offload).toBe('off');
            const address = family === 'IPv4' ? ns.address : ns.address6;
            if (address === undefined) throw new Error('the namespace has no IPv6 address');
            const { received, wrong } = await bulkFrom(address, port, SIZE);
            const totals = await releases.stop();
            expect(received).toBe(SIZE);
            expect(wrong).toBe(0);
            // The data went out through the gate: at least the payload, in packets the helper counted.
            expect(totals.bytes).toBeGreaterThan(SIZE);
            const mean = totals.bytes / totals.packets;
            console.log(
              `${family}, offload ${gate.offload}: ${totals.packets} packets released, mean ${mean.toFixed(0)} bytes`,
            );
            if (offload) expect(mean).toBeGreaterThan(MTU);
            else expect(mean).toBeLessThanOrEqual(MTU);
          } finally {
            await releases.stop();
            // A clean stop also takes the inbound redirect away (a destroyed gate's would point at its dead TAP).
            await gate.open().catch(() => gate.destroy());
          }
        },
      );
    }
  }
});

/** The helper's resident and peak memory (KiB), from /proc. */
async function helperMemory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return { rss: kib('VmRSS'), hwm: kib('VmHWM') };
}

describe('the memory bound with 60 KB packets', () => {
  const DATAGRAM = 60_000; // + 28 bytes of IPv4 and UDP headers: one packet each on a 65000-byte MTU
  const COUNT = 600; // 36 MB: far past the bound, and enough for read batches to grow to their largest

  it('--max-bytes bounds the read stage and the store together; a held packet counts its full size', async () => {
    const maxHeld = 4 << 20;
    const setMtu = async (mtu: number) => {
      await execa('ip', ['link', 'set', 'dev', ns.hostInterface, 'mtu', String(mtu)]);
      await execa('ip', ['-n', ns.name, 'link', 'set', 'dev', ns.innerInterface, 'mtu', String(mtu)]);
    };
    await setMtu(65_000);
    const gate = await TunGate.start({ hostInterface: ns.hostInterface, tun: tunName(), maxHeldBytes: maxHeld });
    const rx = createSocket('udp4');
    const pid = gate.helperPid;
    try {
      if (pid === undefined) throw new Error('no helper pid');
      await new Promise<void>((resolve) => rx.bind(0, ns.hostAddress, resolve));
      const before = await helperMemory(pid);
      // The helper stopped, every datagram waits in the TUN's queue (8192 packets): the barrier then reads
      // them in batches that double up to the stage's size, as a backlog after a busy moment would.
      process.kill(pid, 'SIGSTOP');
      try {
        expect(await peer.ask(`udp ${ns.hostAddress} ${rx.address().port} 0 ${COUNT} ${DATAGRAM}`)).toBe('ok');
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      const closed = await gate.barrier(1);
      const stats = await gate.stats();
      expect(stats.heldBytes).toBeLessThanOrEqual(maxHeld);
      expect(closed.packets).toBeGreaterThan(20);
      // Each held packet counts all of its bytes (the helper's virtio header not among them). A few small
      // packets of the namespace's own (IPv6 neighbour discovery and MLD, the previous test's last ACKs) may
      // be held with the datagrams: at most SMALL of them, each under 200 bytes.
      const SMALL = 4;
      const big = Math.floor(closed.bytes / (DATAGRAM + 28));
      expect(big).toBeGreaterThanOrEqual(closed.packets - SMALL);
      expect(closed.bytes - big * (DATAGRAM + 28)).toBeLessThan((closed.packets - big) * 200 + 1);
      const released = await gate.release(1);
      expect(released.packets).toBe(closed.packets);
      expect(released.packets + released.dropped).toBeGreaterThanOrEqual(COUNT);
      const after = await helperMemory(pid);
      // What the helper holds in packets (stage pages touched and store chunks) is within the bound; the
      // slack covers its stack and the answer buffers a release touches (a few pages).
      expect((after.hwm - before.rss) * 1024).toBeLessThanOrEqual(maxHeld + (256 << 10));
    } finally {
      rx.close();
      await gate.destroy();
      await setMtu(MTU);
    }
  });

  it('refuses a bound that cannot hold two maximal packets and read a third', async () => {
    await expect(
      TunGate.start({ hostInterface: ns.hostInterface, tun: tunName(), maxHeldBytes: 200 << 10 }),
    ).rejects.toThrow(/--max-bytes must be between 256 KiB and 1 TiB/);
  });
});
