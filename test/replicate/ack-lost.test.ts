// A primary that dies in the instant its checkpoint lands on the backup: the backup has verified it and moved
// `latest` to it, then cannot send the ack. The failover trigger must still know it holds that checkpoint.
// Before, the 'holds' event came after the ack: a clean-clone CI run's kill -9 test (test/fence/partition.test.ts)
// found a backup with a restorable checkpoint on disk saying "no checkpoint has been received, nothing to
// restore", and it never failed over.
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Channel } from '../../src/replicate/channel.js';
import type { SenderEvent } from '../../src/replicate/events.js';
import { hello } from '../../src/replicate/protocol.js';
import { startReceiver, type Receiver } from '../../src/replicate/receiver.js';
import { fileChunks, readLocalCheckpoint } from '../../src/store/manifest.js';
import { imagesDir } from '../helpers/criu.js';
import {
  backupRunDir,
  collectingLog,
  fakeCheckpoint,
  manifestOf,
  primaryRun,
  rawChannel,
  testPair,
  waitFor,
} from './helpers.js';

const open: { receivers: Receiver[]; channels: Channel[] } = { receivers: [], channels: [] };
afterEach(async () => {
  for (const channel of open.channels.splice(0)) channel.destroy();
  await Promise.all(open.receivers.splice(0).map((r) => r.close()));
});

describe('the ack of a landed checkpoint cannot be sent', () => {
  it('the failover trigger is told the backup holds it all the same', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    // Big enough that verifying and fsyncing it takes longer than the reset below takes to arrive.
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 4_000_000, 'inventory.img': 40 });
    const events: SenderEvent[] = [];
    const receiver = await startReceiver(
      { host: '127.0.0.1', port: 0 },
      {
        root: backup,
        keep: 5,
        log: collectingLog(),
        credentials: (await testPair()).backup,
        onEvent: (e) => events.push(e),
      },
    );
    open.receivers.push(receiver);
    const channel = await rawChannel(receiver.endpoint.port);
    open.channels.push(channel);
    const run = await primaryRun(primary);
    await channel.send(hello('sender', run));
    expect((await channel.nextMessage()).type).toBe('hello');
    const local = await readLocalCheckpoint(primary, '00000001');
    await channel.send({ type: 'offer', manifest: manifestOf(run.id, '00000001', null, local.files) });
    expect(await channel.nextMessage()).toEqual({ type: 'accept', name: '00000001' });
    for (const file of local.files)
      for await (const chunk of fileChunks(local.dir, file)) await channel.sendData(chunk);
    await channel.send({ type: 'done', name: '00000001' });
    // The primary host dies: its end of the connection is gone before the backup can answer.
    channel.destroy();

    const latest = await waitFor('latest on the backup', async () => {
      const dir = await backupRunDir(backup).catch(() => undefined);
      return dir === undefined ? undefined : (await readlink(join(dir, 'latest')).catch(() => undefined)) || undefined;
    });
    expect(latest).toBe('00000001');
    await waitFor('the end of the connection', async () =>
      events.some((e) => e.type === 'busy' && !e.busy) ? true : undefined,
    );
    expect(events.filter((e) => e.type === 'holds')).toEqual([
      { type: 'holds', peer: expect.any(String), run: run.id, name: '00000001', how: 'received' },
    ]);
  });
});
