import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shipOnce } from '../../src/replicate/sender.js';
import { imagesDir } from '../helpers/criu.js';
import { collectingLog, fakeCheckpoint, startBackup, stopDaemons, testPair } from './helpers.js';

// 1,000 connections that never authenticate, against a real `remusd backup` process, with its resident
// memory read from /proc. Before mutual TLS each connection could make the backup buffer a 4 MiB frame
// before any hello: 600 idle connections took it to 2.5 GB. Now at most --max-handshakes (32) handshakes
// are in progress, each bounded by OpenSSL: a ClientHello header may announce up to ~128 KiB, which
// OpenSSL allocates as soon as the header arrives. So the bound is 32 × (128 KiB + a 16 KiB record + a
// TLS socket's few KiB) ≈ 5 MiB, plus garbage from the 968 evicted connections that the GC has not taken
// back yet; 24 MiB leaves room for that. The negative control lifts the limit and must exceed the bound.
// Measured here: +12.6 MiB with the limit (31 connections left open), +171 MiB without (999 open, ~171 KiB
// each, as the arithmetic above says).

const FLOOD = 1_000;
const BOUND_MIB = 24;

afterEach(() => stopDaemons());

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)![1]) / 1024;
}

// What each connection sends: a TLS handshake record whose ClientHello announces 131,000 bytes (OpenSSL
// allocates that much on reading the header), then 16 KiB of it, then nothing more: it stays idle.
function bigHello(): Buffer {
  const record = Buffer.alloc(5 + 16_384);
  record.writeUInt8(22, 0); // handshake
  record.writeUInt16BE(0x0301, 1);
  record.writeUInt16BE(16_384, 3);
  record.writeUInt8(1, 5); // ClientHello
  record.writeUIntBE(131_000, 6, 3);
  return record;
}

/** Opens FLOOD connections, each sending bigHello() once; resolves when every one is connected or closed. */
async function flood(port: number): Promise<{ sockets: Socket[]; open: () => number }> {
  const sockets: Socket[] = [];
  let closed = 0;
  const settled: Promise<void>[] = [];
  for (let i = 0; i < FLOOD; i++) {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => undefined);
    socket.on('close', () => closed++);
    settled.push(
      new Promise((resolve) =>
        socket.once('connect', () => socket.write(bigHello(), () => resolve())).once('close', () => resolve()),
      ),
    );
    sockets.push(socket);
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(settled);
  return { sockets, open: () => FLOOD - closed };
}

/** Starts a backup, warms it up with one genuine checkpoint, floods it; returns the RSS growth and what was left open. */
async function measure(args: string[]) {
  const pair = await testPair();
  const root = await imagesDir();
  const images = join(root, 'images');
  const backup = await startBackup(join(root, 'backup'), args);
  await fakeCheckpoint(images, '00000001', null, { 'pages-1.img': 1 << 20 });
  await shipOnce({
    images,
    log: collectingLog(),
    to: { host: '127.0.0.1', port: backup.port },
    credentials: pair.primary,
  });
  await new Promise((resolve) => setTimeout(resolve, 500));
  const before = await rssMiB(backup.process.pid!);
  let peak = before;
  const sampler = setInterval(
    () =>
      void rssMiB(backup.process.pid!).then(
        (rss) => (peak = Math.max(peak, rss)),
        () => undefined,
      ),
    20,
  );
  try {
    const attack = await flood(backup.port);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    // The genuine primary still gets through while the survivors of the flood hold their handshakes.
    await fakeCheckpoint(images, '00000002', '00000001', { 'pages-1.img': 4096 });
    const shipped = await shipOnce({
      images,
      log: collectingLog(),
      to: { host: '127.0.0.1', port: backup.port },
      credentials: pair.primary,
    });
    const open = attack.open();
    for (const socket of attack.sockets) socket.destroy();
    return { before, grew: peak - before, open, shipped: shipped.map((r) => r.name), log: backup.log() };
  } finally {
    clearInterval(sampler);
  }
}

describe('a flood of unauthenticated connections', () => {
  it(`${FLOOD} connections, each announcing a 128 KiB ClientHello and then idle, grow the backup by < ${BOUND_MIB} MiB`, async () => {
    const result = await measure([]);
    console.log(
      `${FLOOD} connections: RSS ${result.before.toFixed(1)} MiB → +${result.grew.toFixed(1)} MiB at the peak; ${result.open} still open after 1 s`,
    );
    expect(result.grew).toBeLessThan(BOUND_MIB);
    expect(result.open).toBeLessThanOrEqual(32);
    expect(result.shipped).toEqual(['00000002']);
    expect(result.log).toMatch(/refused \d+ unauthenticated connection\(s\); the last one: /);
    expect(result.log.match(/unauthenticated connection/g)!.length).toBeLessThanOrEqual(3); // a count, not a line per connection
  });

  it(`negative control: with the handshake limit lifted to ${FLOOD}, the same flood exceeds the bound`, async () => {
    const result = await measure(['--max-handshakes', String(FLOOD)]);
    console.log(
      `limit lifted: RSS ${result.before.toFixed(1)} MiB → +${result.grew.toFixed(1)} MiB at the peak; ${result.open} still open after 1 s`,
    );
    expect(result.grew).toBeGreaterThan(BOUND_MIB);
  });
});
