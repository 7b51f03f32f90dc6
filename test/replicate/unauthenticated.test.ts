import { readdir, stat } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, TLSSocket, type ConnectionOptions } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { SenderEvent } from '../../src/replicate/events.js';
import { dataHeader, encodeMessage, hello } from '../../src/replicate/protocol.js';
import { startReceiver, type Receiver } from '../../src/replicate/receiver.js';
import { shipOnce } from '../../src/replicate/sender.js';
import { shipChain } from '../../src/replicate/ship-chain.js';
import { FailoverTrigger } from '../../src/replicate/trigger.js';
import { imagesDir } from '../helpers/criu.js';
import { newRunIdentity } from '../../src/store/run-identity.js';
import {
  backupRunDir,
  collectingLog,
  fakeCheckpoint,
  makePair,
  manifestOf,
  primaryRun,
  rawChannel,
  testPair,
  waitFor,
  type TestPair,
} from './helpers.js';

// Hostile peers against a backup (in-process receiver, real TLS on 127.0.0.1). Before mutual TLS, any
// local process could connect, ship a checkpoint of its choosing and send workload-dead, and the backup
// failed over to it as root; its heartbeats also kept a backup whose primary had died from failing over.
// Every peer below lacks this pair's primary key: it must land nothing, leave no trace on disk and make
// the backup hear nothing (no event reaches the failover trigger).

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

/** A backup that holds one genuine checkpoint of the pair's primary, with every event it reports kept. */
async function backupWithOneCheckpoint(pair: TestPair) {
  const root = await imagesDir();
  const images = join(root, 'images');
  const backupDir = join(root, 'backup');
  await fakeCheckpoint(images, '00000001', null, { 'pages-1.img': 100_000, 'core-1.img': 300 });
  const events: SenderEvent[] = [];
  const log = collectingLog();
  const receiver = await startReceiver(
    { host: '127.0.0.1', port: 0 },
    { root: backupDir, keep: 5, log, credentials: pair.backup, onEvent: (e) => events.push(e) },
  );
  receivers.push(receiver);
  return { images, backupDir, events, log, receiver };
}

/** What a forger sends: its own checkpoint 99999999, then workload-dead and heartbeats. */
function forgery(): Buffer {
  const content = Buffer.alloc(1000, 0xcc);
  const run = newRunIdentity(new Date());
  return Buffer.concat([
    encodeMessage(hello('sender', run)),
    encodeMessage({
      type: 'offer',
      manifest: manifestOf(run.id, '99999999', null, [{ name: 'core-1.img', size: 1000, xxh64: '0000000000000000' }]),
    }),
    dataHeader(content.length),
    content,
    encodeMessage({ type: 'done', name: '99999999' }),
    encodeMessage({ type: 'workload-dead', pid: 1, at: new Date().toISOString() }),
    encodeMessage({ type: 'heartbeat', at: new Date().toISOString(), workload: 'dead' }),
  ]);
}

type Attacker = (port: number) => Socket;
const attackers = (other: TestPair, own: TestPair): Record<string, Attacker> => {
  const tls = (options: ConnectionOptions) => (port: number) =>
    connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options });
  return {
    'plain TCP': (port) => connectTcp({ host: '127.0.0.1', port }),
    'TLS without a certificate': tls({}),
    "TLS with another pair's primary certificate": tls({ key: other.primary.keyPem, cert: other.primary.certPem }),
    "TLS with this pair's backup certificate (the wrong side)": tls({
      key: own.backup.keyPem,
      cert: own.backup.certPem,
    }),
  };
};

/** Runs the attack; resolves with every byte the backup sent back once it closed the connection. */
async function attack(socket: Socket): Promise<Buffer> {
  const received: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => received.push(chunk));
  socket.on('error', () => undefined);
  socket.once(socket instanceof TLSSocket ? 'secureConnect' : 'connect', () => socket.write(forgery()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the backup did not close the connection within 10 s')), 10_000);
    socket.once('close', () => (clearTimeout(timer), resolve()));
  });
  return Buffer.concat(received);
}

// Names, sizes and modification times of everything under dir: a partial directory created and removed
// again would still change dir's own mtime.
async function snapshot(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true });
  const lines = await Promise.all(
    [dir, ...entries.map((e) => join(dir, e))].map(async (p) => `${p} ${(await stat(p)).mtimeMs}`),
  );
  return lines.sort().join('\n');
}

describe('unauthenticated peers (mutual TLS)', () => {
  it("plain TCP, TLS without a certificate, with another pair's or with the wrong side's: nothing lands, nothing is written, nothing is heard", async () => {
    const pair = await testPair();
    const other = await makePair();
    const { images, backupDir, events, log, receiver } = await backupWithOneCheckpoint(pair);
    expect(
      (await shipOnce({ images, log: collectingLog(), to: receiver.endpoint, credentials: pair.primary })).map(
        (r) => r.name,
      ),
    ).toEqual(['00000001']);
    const trigger = new FailoverTrigger(60_000);
    for (const event of events) trigger.observe(event, 0);
    const before = await snapshot(backupDir);
    const heardBefore = events.length;

    for (const [name, connect] of Object.entries(attackers(other, pair))) {
      const answer = await attack(connect(receiver.endpoint.port));
      // No remusd frame came back (a frame starts with kind 1 or 2; a TLS record with 20–23).
      expect(
        answer.length === 0 || answer[0]! >= 20,
        `${name}: answered ${answer.subarray(0, 16).toString('hex')}`,
      ).toBe(true);
    }
    expect(events.slice(heardBefore), 'events from unauthenticated peers').toEqual([]);
    expect(trigger.done).toBe(false);
    expect(await snapshot(backupDir)).toBe(before);
    expect(await readdir(await backupRunDir(backupDir))).toEqual(['00000001', 'latest', 'run.json']); // one run: the primary's
    await waitFor('the refusals logged', () =>
      log.lines.some((l) => /refused \d+ unauthenticated connection/.test(l)) ? true : undefined,
    );
    expect(log.lines.join('\n')).not.toMatch(/99999999|workload \(pid 1\)/);
  });

  it('a shipper with the wrong keys fails at once, saying so (no retrying until the connect timeout)', async () => {
    const pair = await testPair();
    const other = await makePair();
    const { images, backupDir, receiver } = await backupWithOneCheckpoint(pair);
    for (const credentials of [other.primary, pair.backup]) {
      const started = performance.now();
      await expect(
        shipOnce({ images, log: collectingLog(), to: receiver.endpoint, credentials, connectTimeoutMs: 20_000 }),
      ).rejects.toThrow(/failed TLS authentication: .*; both sides need the keys of one `remusd keys init DIR`/);
      // Retrying would last the 20 s connect timeout; 5 s is room for two TLS handshakes on a loaded machine.
      expect(performance.now() - started).toBeLessThan(5_000);
    }
    expect(await readdir(backupDir)).toEqual([]);
  });

  it("a forger's heartbeats do not hide the primary's silence: the silence trigger still fires", async () => {
    const pair = await testPair();
    const other = await makePair();
    const { images, events, receiver } = await backupWithOneCheckpoint(pair);
    // The genuine primary ships one checkpoint, then dies without a goodbye (its connection just drops).
    const channel = await rawChannel(receiver.endpoint.port, pair.primary);
    const run = await primaryRun(images);
    await channel.send(hello('sender', run));
    await channel.nextMessage();
    await shipChain(channel, '00000001', { images, log: collectingLog(), run });
    channel.destroy();
    const died = performance.now();
    const trigger = new FailoverTrigger(1_000);
    for (const event of events) trigger.observe(event, died);
    // A forger with another pair's key keeps sending heartbeats saying the workload is alive.
    const forger = connectTls({
      host: '127.0.0.1',
      port: receiver.endpoint.port,
      rejectUnauthorized: false,
      key: other.primary.keyPem,
      cert: other.primary.certPem,
    });
    forger.on('error', () => undefined);
    const beat = setInterval(
      () =>
        forger.writable &&
        forger.write(encodeMessage({ type: 'heartbeat', at: new Date().toISOString(), workload: 'alive' })),
      100,
    );
    forger.once('secureConnect', () => forger.write(encodeMessage(hello('sender', newRunIdentity(new Date())))));
    try {
      const heard = events.length;
      const decision = await waitFor(
        'the silence trigger',
        () => {
          const now = performance.now();
          for (const event of events.splice(heard)) trigger.observe(event, now);
          return trigger.tick(now);
        },
        5_000,
      );
      expect(decision).toMatchObject({ type: 'failover', reason: 'silence' });
      // Hidden silence would never fire (waitFor fails at 5 s); 3 s is the 1 s limit plus room for late timers.
      expect(performance.now() - died).toBeLessThan(3_000);
    } finally {
      clearInterval(beat);
      forger.destroy();
    }
  });
});
