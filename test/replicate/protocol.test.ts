import { renameSync, rmSync } from 'node:fs';
import { readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Channel } from '../../src/replicate/channel.js';
import { fileChunks, readLocalCheckpoint } from '../../src/store/manifest.js';
import {
  dataHeader,
  encodeMessage,
  FrameDecoder,
  hello,
  MAX_MESSAGE_BYTES,
  ProtocolError,
  PROTOCOL_VERSION,
  type Message,
} from '../../src/replicate/protocol.js';
import type { Receiver } from '../../src/replicate/receiver.js';
import { connectToBackup } from '../../src/replicate/backup-connection.js';
import { shipOnce, watchAndShip } from '../../src/replicate/sender.js';
import { shipChain, ShipError } from '../../src/replicate/ship-chain.js';
import { serverTlsOptions } from '../../src/replicate/tls/options.js';
import { imagesDir } from '../helpers/criu.js';
import { newRunIdentity } from '../../src/store/run-identity.js';
import {
  backupRunDir,
  collectingLog,
  fakeCheckpoint,
  loopbackReceiver,
  manifestOf,
  primaryRun,
  rawChannel,
  sameBytes,
  testPair,
  waitFor,
} from './helpers.js';

const receivers: Receiver[] = [];
const channels: Channel[] = [];
afterEach(async () => {
  for (const channel of channels.splice(0)) channel.destroy();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});
async function receiverIn(root: string, keep = 5) {
  const receiver = await loopbackReceiver(root, keep);
  receivers.push(receiver);
  return receiver;
}
async function raw(port: number) {
  const channel = await rawChannel(port);
  channels.push(channel);
  return channel;
}
const names = async (backup: string) =>
  (await readdir(await backupRunDir(backup))).filter((n) => n !== 'latest' && n !== 'run.json').sort();
const RUN = newRunIdentity(new Date('2026-01-01T00:00:00Z'));

describe('framing', () => {
  it('decodes messages and data split at every possible byte boundary', () => {
    const offer: Message = {
      type: 'offer',
      manifest: manifestOf(RUN.id, '00000002', '00000001', [
        { name: 'pages-1.img', size: 3, xxh64: '0123456789abcdef' },
      ]),
    };
    const stream = Buffer.concat([
      encodeMessage(hello('sender', RUN)),
      encodeMessage(offer),
      dataHeader(3),
      Buffer.from([7, 8, 9]),
      encodeMessage({ type: 'done', name: '00000002' }),
    ]);
    for (let split = 0; split <= stream.length; split++) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(stream.subarray(0, split)), ...decoder.push(stream.subarray(split))];
      expect(frames.map((f) => (f.kind === 'data' ? [...f.bytes] : f.message.type))).toEqual([
        'hello',
        'offer',
        [7, 8, 9],
        'done',
      ]);
      expect(decoder.pending).toBe(0);
    }
    const one = new FrameDecoder();
    const byteByByte = [...stream].flatMap((byte) => one.push(Buffer.from([byte])));
    expect(byteByByte).toHaveLength(4);
    expect((byteByByte[1] as { message: Message }).message).toEqual(offer);
  });

  it('refuses garbage, oversized frames and unsafe file names with a clear message', () => {
    expect(() => new FrameDecoder().push(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toThrow(
      /not a remusd-replicate stream.*GET/,
    );
    const huge = Buffer.alloc(5);
    huge.writeUInt8(1, 0);
    huge.writeUInt32BE(MAX_MESSAGE_BYTES + 1, 1);
    expect(() => new FrameDecoder().push(huge)).toThrow(/exceeds the limit/);
    for (const name of ['../evil', 'parent', '.hidden', 'a/b', '']) {
      const bad = encodeMessage({
        type: 'offer',
        manifest: manifestOf(RUN.id, '00000001', null, [{ name, size: 1, xxh64: '0000000000000000' }]),
      });
      expect(() => new FrameDecoder().push(bad)).toThrow(ProtocolError);
    }
    const badName = encodeMessage({ type: 'accept', name: '../../etc' } as Message);
    expect(() => new FrameDecoder().push(badName)).toThrow(/not a checkpoint name/);
  });
});

describe('status messages', () => {
  it('round-trip heartbeats and offers with the workload state, workload-dead and goodbye; refuse bad fields', () => {
    const messages: Message[] = [
      { type: 'heartbeat', at: '2025-01-01T00:00:00.000Z' },
      { type: 'heartbeat', at: '2025-01-01T00:00:00.000Z', workload: 'dead' },
      { type: 'offer', manifest: manifestOf(RUN.id, '00000001', null, []), workload: 'alive' },
      { type: 'workload-dead', pid: 4242, at: '2025-01-01T00:00:00.000Z' },
      { type: 'goodbye', reason: 'SIGTERM' },
      { type: 'refuse', name: '00000002', reason: 'failed-over', message: 'no more', have: [] },
    ];
    for (const message of messages)
      expect(new FrameDecoder().push(encodeMessage(message))).toEqual([{ kind: 'message', message }]);
    expect(() =>
      new FrameDecoder().push(
        encodeMessage({ type: 'heartbeat', at: '2025-01-01T00:00:00.000Z', workload: 'zombie' } as unknown as Message),
      ),
    ).toThrow(/workload must be alive or dead/);
    expect(() =>
      new FrameDecoder().push(
        encodeMessage({ type: 'workload-dead', pid: -1, at: '2025-01-01T00:00:00.000Z' } as Message),
      ),
    ).toThrow(/pid must be a positive integer/);
  });
});

describe('receiver over loopback', () => {
  it('a hello of another version, or no hello at all, is refused with a message sent back and logged', async () => {
    const receiver = await receiverIn(await imagesDir('remusd-backup-'));
    const old = await raw(receiver.endpoint.port);
    await old.send({ ...hello('sender', RUN), version: PROTOCOL_VERSION + 1 } as Message);
    await expect(old.nextMessage()).rejects.toThrow(
      `peer speaks remusd-replicate version ${PROTOCOL_VERSION + 1}; this remusd speaks version ${PROTOCOL_VERSION}`,
    );
    const http = await raw(receiver.endpoint.port);
    http.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await expect(http.nextMessage()).rejects.toThrow(/not a remusd-replicate stream/);
    const offerFirst = await raw(receiver.endpoint.port);
    await offerFirst.send({ type: 'offer', manifest: manifestOf(RUN.id, '00000001', null, []) });
    await expect(offerFirst.nextMessage()).rejects.toThrow(/expected hello first, got offer/);
    await waitFor('3 refusals logged', () =>
      receiver.log.lines.filter((l) => l.includes('refused') || l.includes('not a remusd')).length >= 3
        ? true
        : undefined,
    );
    expect(receiver.log.lines.join('\n')).toContain(`version ${PROTOCOL_VERSION + 1}`);
  });

  it('a hash mismatch is rejected and leaves nothing under a final name (nor a partial)', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 300_000, 'inventory.img': 40 });
    const receiver = await receiverIn(backup);
    const channel = await raw(receiver.endpoint.port);
    const run = await primaryRun(primary);
    await channel.send(hello('sender', run));
    expect((await channel.nextMessage()).type).toBe('hello');
    const local = await readLocalCheckpoint(primary, '00000001');
    const lying = local.files.map((f) => (f.name === 'pages-1.img' ? { ...f, xxh64: 'ffffffffffffffff' } : f));
    await channel.send({ type: 'offer', manifest: manifestOf(run.id, '00000001', null, lying) });
    expect(await channel.nextMessage()).toEqual({ type: 'accept', name: '00000001' });
    for (const file of local.files)
      for await (const chunk of fileChunks(local.dir, file)) await channel.sendData(chunk);
    await channel.send({ type: 'done', name: '00000001' });
    const answer = await channel.nextMessage();
    expect(answer.type).toBe('reject');
    expect((answer as { message: string }).message).toMatch(
      /00000001\/pages-1\.img: xxh64 [0-9a-f]{16}, the manifest says ffffffffffffffff/,
    );
    expect(await names(backup)).toEqual([]);
    expect(receiver.log.lines.some((l) => l.startsWith('warn rejected 00000001'))).toBe(true);
    // The same connection goes on: the honest offer is accepted.
    const shipped = await shipChain(channel, '00000001', { images: primary, log: collectingLog(), run });
    expect(shipped.map((r) => r.name)).toEqual(['00000001']);
    expect(
      await sameBytes(
        join(primary, '00000001', 'pages-1.img'),
        join(await backupRunDir(backup), '00000001', 'pages-1.img'),
      ),
    ).toBe(true);
  });

  it('a checkpoint whose parent the backup lacks is refused; the sender sends the missing ancestors oldest first', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 200_000, 'pagemap-1.img': 100, 'empty.img': 0 });
    await fakeCheckpoint(primary, '00000002', '00000001', {
      'pages-1.img': 8192,
      'pagemap-1.img': 120,
      'empty.img': 0,
    });
    await fakeCheckpoint(primary, '00000003', '00000002', {
      'pages-1.img': 4096,
      'pagemap-1.img': 110,
      'empty.img': 0,
    });
    const receiver = await receiverIn(backup);
    const log = collectingLog();
    // Ship only 00000001 first, then ask for 00000003: the backup must refuse it and get 00000002 first.
    const run = await primaryRun(primary);
    const channel = await connectToBackup(receiver.endpoint, (await testPair()).primary, run);
    channels.push(channel);
    expect((await shipChain(channel, '00000001', { images: primary, log, run })).map((r) => r.name)).toEqual([
      '00000001',
    ]);
    const shipped = await shipChain(channel, '00000003', { images: primary, log, run });
    expect(shipped.map((r) => [r.name, r.ancestor_of ?? null])).toEqual([
      ['00000002', '00000003'],
      ['00000003', null],
    ]);
    expect(receiver.log.lines.join('\n')).toMatch(
      /refusing 00000003: its parent 00000002 of run [0-9a-f-]{36} is not complete on this backup/,
    );
    expect(log.lines.join('\n')).toMatch(/backup refused 00000003: refusing 00000003: its parent 00000002/);
    expect(await names(backup)).toEqual(['00000001', '00000002', '00000003']);
    const runDir = await backupRunDir(backup);
    expect(await readlink(join(runDir, '00000003', 'parent'))).toBe('../00000002');
    expect(await readlink(join(runDir, 'latest'))).toBe('00000003');
    for (const file of ['pages-1.img', 'pagemap-1.img', 'empty.img'])
      expect(await sameBytes(join(primary, '00000003', file), join(runDir, '00000003', file))).toBe(true);
    // Offering what the backup has already costs one round trip and sends nothing.
    expect(await shipChain(channel, '00000003', { images: primary, log, run })).toEqual([]);
    // From nothing: the whole chain goes, oldest first.
    const empty = await imagesDir('remusd-backup-');
    const second = await receiverIn(empty);
    const all = await shipOnce({ images: primary, log, to: second.endpoint, credentials: (await testPair()).primary });
    expect(all.map((r) => r.name)).toEqual(['00000001', '00000002', '00000003']);
  });

  it('an ancestor removed here mid catch-up (compaction behind a starting shipper): the sender plans again, on the same connection', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    const full = { 'pages-1.img': 200_000, 'pagemap-1.img': 100 };
    const delta = { 'pages-1.img': 8192, 'pagemap-1.img': 120 };
    await fakeCheckpoint(primary, '00000001', null, full);
    for (const [name, parent] of [
      ['00000002', '00000001'],
      ['00000003', '00000002'],
      ['00000004', '00000003'],
      ['00000005', '00000004'],
    ] as const)
      await fakeCheckpoint(primary, name, parent, delta);
    // 4 flattened, made beside the chain as compaction makes its copy.
    const flattened = await imagesDir('remusd-flattened-');
    await fakeCheckpoint(flattened, '00000004', null, full);
    const receiver = await receiverIn(backup);
    const log = collectingLog();
    const run = await primaryRun(primary);
    const channel = await connectToBackup(receiver.endpoint, (await testPair()).primary, run);
    channels.push(channel);
    await shipChain(channel, '00000001', { images: primary, log, run });
    // Planned: 2, 3, 4, then 5. Once 2 is acknowledged the primary swaps the flattened 4 in and removes 1-3,
    // as its compaction and retention would: 3, next in the plan, is gone before its offer.
    const onShipped = (record: { name: string }) => {
      if (record.name !== '00000002') return;
      for (const name of ['00000001', '00000002', '00000003', '00000004'])
        rmSync(join(primary, name), { recursive: true });
      renameSync(join(flattened, '00000004'), join(primary, '00000004'));
    };
    const shipped = await shipChain(channel, '00000005', { images: primary, log, run, onShipped });
    expect(shipped.map((r) => [r.name, r.ancestor_of ?? null])).toEqual([
      ['00000002', '00000005'],
      ['00000004', '00000005'], // the flattened base, in full: the backup lacked it
      ['00000005', null],
    ]);
    expect(log.lines.join('\n')).toMatch(/ancestor 00000003 of 00000005 was removed here .*planning 00000005 again/);
    const runDir = await backupRunDir(backup);
    expect(await readlink(join(runDir, 'latest'))).toBe('00000005');
    for (const file of Object.keys(full))
      expect(await sameBytes(join(primary, '00000004', file), join(runDir, '00000004', file))).toBe(true);
    // The same connection goes on.
    expect(await shipChain(channel, '00000005', { images: primary, log, run })).toEqual([]);
  });

  it('a latest left pointing at a removed checkpoint: said once, no failure, no reconnect, no busy loop', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 4096 });
    const receiver = await receiverIn(backup);
    const log = collectingLog();
    const shipped: string[] = [];
    const controller = new AbortController();
    const shipping = watchAndShip({
      images: primary,
      to: receiver.endpoint,
      credentials: (await testPair()).primary,
      log,
      signal: controller.signal,
      pollMs: 20,
      onShipped: (record) => shipped.push(record.name),
    });
    try {
      await waitFor('00000001 shipped', () => (shipped.includes('00000001') ? true : undefined), 10_000);
      // `latest` now names a checkpoint that is not there (removed between the supervisor's publish and the read).
      await rm(join(primary, 'latest'));
      await symlink('00000002', join(primary, 'latest'));
      await new Promise((resolve) => setTimeout(resolve, 600)); // ~30 polls
      const lines = log.lines.join('\n');
      expect(lines.match(/00000002 was removed here before it was offered/g)).toHaveLength(1);
      expect(lines).not.toMatch(/shipping to .* failed/);
      expect(lines.match(/connected to backup/g)).toHaveLength(1);
      // When it appears, it is shipped on the same connection.
      await rm(join(primary, 'latest'));
      await fakeCheckpoint(primary, '00000002', '00000001', { 'pages-1.img': 4096 });
      await waitFor('00000002 shipped', () => (shipped.includes('00000002') ? true : undefined), 10_000);
      expect(log.lines.join('\n').match(/connected to backup/g)).toHaveLength(1);
    } finally {
      controller.abort();
      await shipping;
    }
  });

  it('a connection dropped mid-transfer leaves no checkpoint under a final name; a retry completes', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 1_000_000 });
    const receiver = await receiverIn(backup);
    const channel = await raw(receiver.endpoint.port);
    const run = await primaryRun(primary);
    await channel.send(hello('sender', run));
    await channel.nextMessage();
    const local = await readLocalCheckpoint(primary, '00000001');
    await channel.send({ type: 'offer', manifest: manifestOf(run.id, '00000001', null, local.files) });
    await channel.nextMessage();
    await channel.sendData(Buffer.alloc(300_000, 1));
    const runDir = await backupRunDir(backup);
    await waitFor('the partial directory', async () =>
      (await readdir(runDir)).includes('.00000001.partial') ? true : undefined,
    );
    channel.destroy();
    await waitFor('the drop noticed', () =>
      receiver.log.lines.some((l) => l.includes('discarded')) ? true : undefined,
    );
    expect(await readdir(runDir)).toEqual(['run.json']);
    const shipped = await shipOnce({
      images: primary,
      log: collectingLog(),
      to: receiver.endpoint,
      credentials: (await testPair()).primary,
    });
    expect(shipped.map((r) => r.bytes)).toEqual([1_000_000]);
    expect(await names(backup)).toEqual(['00000001']);
  });

  it('a partial directory left by a crashed receiver is removed when it starts', async () => {
    const backup = await imagesDir('remusd-backup-');
    const runDir = join(backup, 'runs', RUN.id);
    await fakeCheckpoint(runDir, '00000001', null, { 'pages-1.img': 10 });
    await rename(join(runDir, '00000001'), join(runDir, '.00000002.partial'));
    await rm(join(runDir, 'latest'));
    const receiver = await receiverIn(backup);
    expect(await readdir(runDir)).toEqual(['run.json']);
    expect(receiver.log.lines[0]).toMatch(/removed partial checkpoints.*\.00000002\.partial/);
  });

  it('retention keeps the newest K complete checkpoints and every ancestor they need', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    const receiver = await receiverIn(backup, 2);
    const chainParents: [string, string | null][] = [
      ['00000001', null],
      ['00000002', '00000001'],
      ['00000003', '00000002'],
      ['00000004', null],
      ['00000005', '00000004'],
      ['00000006', null],
    ];
    // Retention runs just after the ack (off the shipping lag), so each step waits for the expected listing.
    const expected = [
      ['00000001'],
      ['00000001', '00000002'],
      ['00000001', '00000002', '00000003'], // 00000003 needs 00000002 and 00000001
      ['00000001', '00000002', '00000003', '00000004'],
      ['00000004', '00000005'], // the first chain is no longer needed
      ['00000004', '00000005', '00000006'], // 00000005 needs 00000004
    ];
    for (const [i, [name, parent]] of chainParents.entries()) {
      await fakeCheckpoint(primary, name, parent, { 'pages-1.img': 1000 });
      await shipOnce({
        images: primary,
        log: collectingLog(),
        to: receiver.endpoint,
        credentials: (await testPair()).primary,
      });
      const want = JSON.stringify(expected[i]);
      const got = await waitFor(
        `backup holding ${want}`,
        async () => {
          const listing = JSON.stringify(await names(backup));
          return listing === want ? listing : undefined;
        },
        2_000,
      ).catch(async () => JSON.stringify(await names(backup)));
      expect(got).toBe(want);
    }
    expect(receiver.log.lines.join('\n')).toMatch(/retention removed checkpoints.*00000001.*00000002.*00000003/);
  });

  it('a sender whose own chain is broken says so instead of shipping an unrestorable checkpoint', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    await fakeCheckpoint(primary, '00000007', '00000006', { 'pages-1.img': 10 });
    const receiver = await receiverIn(backup);
    await expect(
      shipOnce({
        images: primary,
        log: collectingLog(),
        to: receiver.endpoint,
        credentials: (await testPair()).primary,
      }),
    ).rejects.toThrow(ShipError);
    await expect(
      shipOnce({
        images: primary,
        log: collectingLog(),
        to: receiver.endpoint,
        credentials: (await testPair()).primary,
      }),
    ).rejects.toThrow(/00000007 needs its parent 00000006, which is missing/);
    expect(await names(backup)).toEqual([]);
  });
});

describe('connecting to a backup', () => {
  it('gives up on a peer that accepts the connection but never completes a TLS handshake, or never says hello after it', async () => {
    const server = createServer(() => undefined); // accepts, never answers
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const pair = await testPair();
    // This pair's backup key, but no remusd behind it: the handshake completes, no hello ever comes.
    const mute = createTlsServer({ ...serverTlsOptions(pair.backup, 5_000) }, () => undefined);
    await new Promise<void>((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const mutePort = (mute.address() as { port: number }).port;
    try {
      const started = Date.now();
      await expect(connectToBackup({ host: '127.0.0.1', port }, pair.primary, RUN, 300)).rejects.toThrow(
        `no TLS connection to 127.0.0.1:${port} within 300 ms`,
      );
      await expect(connectToBackup({ host: '127.0.0.1', port: mutePort }, pair.primary, RUN, 300)).rejects.toThrow(
        `127.0.0.1:${mutePort} did not answer hello within 300 ms`,
      );
      // Two 300 ms timeouts, not the 5 s default of connectToBackup: 3 s is five times their sum (room for a
      // loaded machine) and still less than one default timeout.
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      server.close();
      mute.close();
    }
  });
});
