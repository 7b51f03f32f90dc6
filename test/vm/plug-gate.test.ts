import { createSocket } from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutputCommit } from '../../src/gate/commit.js';
import { PlugGate } from '../../src/gate/plug.js';
import { waitFor } from '../helpers/wait.js';
import { requireVm } from '../helpers/vm.js';
import { createTestNamespace, type TestNamespace } from '../gate/netns.js';
import { startPeer, type LineProcess } from '../gate/peer-process.js';

requireVm();

// The plug-qdisc gate in the VM, whose Debian 6.1 kernel has sch_plug: the namespace's datagrams are held
// per epoch in the plug (fed through an IFB device) and released in order, without loss.

let ns: TestNamespace;
let peer: LineProcess;

beforeAll(async () => {
  ns = await createTestNamespace('v');
  peer = startPeer(ns.name);
});

afterAll(async () => {
  peer?.kill();
  await ns?.remove();
});

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

describe('plug qdisc output gate', () => {
  it('holds each epoch until released, in order, and a second barrier waits for the first release', async () => {
    const gate = await PlugGate.start({ hostInterface: ns.hostInterface, maxHeldBytes: 16 << 20 });
    const socket = createSocket('udp4');
    const seen: number[] = [];
    socket.on('message', (m) => seen.push(m.readUInt32BE(0)));
    await new Promise<void>((resolve) => socket.bind(0, ns.hostAddress, resolve));
    const port = socket.address().port;
    try {
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 0 30 500`)).toBe('ok');
      await gate.barrier(1);
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 30 30 500`)).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen).toEqual([]);
      // The plug keeps one closed epoch: barrier 2 must wait until epoch 1 is released.
      let secondPlaced = false;
      const second = gate.barrier(2).then(() => (secondPlaced = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(secondPlaced).toBe(false);
      await gate.release(1);
      await second;
      await waitFor('30 datagrams', () => (seen.length >= 30 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(seen).toEqual(range(0, 30)); // epoch 2 (30..59) still held
      await gate.release(2);
      await waitFor('60 datagrams', () => (seen.length >= 60 ? true : undefined));
      expect(seen).toEqual(range(0, 60));
      await gate.open();
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 60 5 500`)).toBe('ok');
      await waitFor('65 datagrams', () => (seen.length >= 65 ? true : undefined));
      expect(seen).toEqual(range(0, 65));
    } finally {
      socket.close();
      await gate.destroy();
    }
  });

  it("a failed checkpoint's epoch does not block the next barrier; a later release lets it out, nothing early", async () => {
    // Without abandon the plug's barrier 2 waited for epoch 1's release, which a failed checkpoint 1 never
    // gives: the supervisor hung there and the workload's clients with it.
    const gate = await PlugGate.start({ hostInterface: ns.hostInterface, maxHeldBytes: 16 << 20 });
    const commit = new OutputCommit(gate, 'backup-ack');
    const socket = createSocket('udp4');
    const seen: number[] = [];
    socket.on('message', (m) => seen.push(m.readUInt32BE(0)));
    await new Promise<void>((resolve) => socket.bind(0, ns.hostAddress, resolve));
    const port = socket.address().port;
    const within = <T>(what: string, promise: Promise<T>) =>
      Promise.race([
        promise,
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`${what} still waits after 20 s`)), 20_000),
        ),
      ]);
    try {
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 0 10 500`)).toBe('ok');
      await commit.beforeDump(1); // checkpoint 1 fails: no afterCheckpoint(1), no ack
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 10 10 500`)).toBe('ok');
      await within('barrier 2 (after failed checkpoint 1)', commit.beforeDump(2));
      expect(await peer.ask(`udp ${ns.hostAddress} ${port} 20 10 500`)).toBe('ok');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(seen).toEqual([]);
      await commit.afterCheckpoint(2, '/nonexistent', '/nonexistent'); // backup-ack: no fsync, no release here
      await commit.releaseAcked(2);
      await waitFor('epoch 1 released', () => (seen.length >= 10 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Epoch 1 is out; what followed barrier 1 may wait one epoch longer, but nothing after barrier 2 leaks.
      expect(seen).toEqual(range(0, seen.length));
      expect(seen.length).toBeLessThanOrEqual(20);
      await within('barrier 3', commit.beforeDump(3));
      await commit.afterCheckpoint(3, '/nonexistent', '/nonexistent');
      await commit.releaseAcked(3);
      await waitFor('30 datagrams', () => (seen.length >= 30 ? true : undefined));
      expect(seen).toEqual(range(0, 30));
    } finally {
      socket.close();
      await gate.destroy();
    }
  });
});
