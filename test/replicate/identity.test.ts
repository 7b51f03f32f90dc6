import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Channel } from '../../src/replicate/channel.js';
import { readRuns } from '../../src/replicate/failover.js';
import type { Receiver } from '../../src/replicate/receiver.js';
import { readLocalCheckpoint } from '../../src/store/manifest.js';
import { readRunIdentity } from '../../src/store/run-identity.js';
import type { Message } from '../../src/replicate/protocol.js';
import { chooseRun } from '../../src/replicate/run-choice.js';
import { connectToBackup } from '../../src/replicate/backup-connection.js';
import { shipOnce } from '../../src/replicate/sender.js';
import { imagesDir } from '../helpers/criu.js';
import {
  backupRunDir,
  closedAfterEach,
  collectingLog,
  fakeCheckpoint,
  manifestOf,
  primaryRun,
  sameBytes,
  testPair,
} from './helpers.js';

// Checkpoint identity on the backup: names are compared only within one run, content decides what the
// backup has, and the primary's clock (not the highest name) decides which run is newest.

const opened = closedAfterEach();
const receiverIn = opened.receiver;
/** Ships the images directory's latest chain with the test pair's primary key (forgers included: identity is not authentication). */
async function ship(images: string, receiver: Receiver) {
  return shipOnce({ images, log: collectingLog(), to: receiver.endpoint, credentials: (await testPair()).primary });
}
const held = async (backup: string, run: string) =>
  (await readdir(await backupRunDir(backup, run))).filter((n) => /^\d{8}$/.test(n)).sort();

/** Offers checkpoint `name` of `images` by hand (its real files, a manifest as given) and returns the backup's answer. */
async function offerByHand(channel: Channel, images: string, name: string, takenAt = new Date()): Promise<Message> {
  const local = await readLocalCheckpoint(images, name);
  await channel.send({
    type: 'offer',
    manifest: manifestOf((await primaryRun(images)).id, name, local.parent, local.files, takenAt),
  });
  return channel.nextMessage();
}

describe('checkpoint identity on the backup', () => {
  it('forged names (99999999, five 9999999x) land in their own run: they evict nothing real and do not win failover', async () => {
    const primary = await imagesDir();
    const forger = await imagesDir('remusd-forger-');
    const backup = await imagesDir('remusd-backup-');
    const receiver = await receiverIn(backup, 2);
    // The forger's names, shipped first; then the real primary's three-link chain.
    for (const name of ['99999990', '99999991', '99999992', '99999993', '99999994', '99999999']) {
      await fakeCheckpoint(forger, name, null, { 'pages-1.img': 4096, 'inventory.img': 40 });
      await ship(forger, receiver);
    }
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 8192, 'inventory.img': 40 });
    await fakeCheckpoint(primary, '00000002', '00000001', { 'pages-1.img': 4096, 'inventory.img': 40 });
    await fakeCheckpoint(primary, '00000003', '00000002', { 'pages-1.img': 4096, 'inventory.img': 40 });
    const shipped = await ship(primary, receiver);
    expect(shipped.map((r) => r.name)).toEqual(['00000001', '00000002', '00000003']);
    const real = (await primaryRun(primary)).id;
    const forged = (await primaryRun(forger)).id;
    expect(await held(backup, real)).toEqual(['00000001', '00000002', '00000003']);
    expect((await held(backup, forged)).length).toBeLessThanOrEqual(2); // retention (keep 2) within the forger's own run
    // Failover: names are not compared across runs. The real run's newest was taken after every forged
    // checkpoint that landed, so it is the newest run.
    const choice = chooseRun(readRuns(backup));
    expect(choice).toMatchObject({ ok: true, run: { id: real } });
    expect(choice.ok && choice.why).toMatch(
      new RegExp(`^run ${real} of .*: newest 00000003 .* is the newest of 2 runs`),
    );
  });

  it('a checkpoint dated far ahead of the backup\'s clock is refused (it would stay "newest" whatever came after it)', async () => {
    const primary = await imagesDir();
    const receiver = await receiverIn(await imagesDir('remusd-backup-'));
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 4096 });
    const channel = opened.channel(
      await connectToBackup(receiver.endpoint, (await testPair()).primary, await primaryRun(primary)),
    );
    const answer = await offerByHand(channel, primary, '00000001', new Date(Date.now() + 3_600_000));
    expect(answer).toMatchObject({
      type: 'refuse',
      reason: 'invalid',
      message: expect.stringMatching(/taken at .*, 3600 s ahead of this backup's clock/),
    });
  });

  it("a restarted primary (numbering from 00000001 again) and a second primary are kept apart; a delta child never lands on another run's parent", async () => {
    const first = await imagesDir();
    const restarted = await imagesDir();
    const second = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    const receiver = await receiverIn(backup);
    await fakeCheckpoint(first, '00000001', null, { 'pages-1.img': 8192, 'pagemap-1.img': 100 });
    await fakeCheckpoint(first, '00000002', '00000001', { 'pages-1.img': 4096, 'pagemap-1.img': 100 });
    await ship(first, receiver);
    // The restarted primary's checkpoints have the same names and different bytes (sizes differ too).
    await fakeCheckpoint(restarted, '00000001', null, { 'pages-1.img': 12288, 'pagemap-1.img': 100 });
    await fakeCheckpoint(restarted, '00000002', '00000001', { 'pages-1.img': 8192, 'pagemap-1.img': 100 });
    const runOf = (images: string) => readRunIdentity(images)!.id; // fakeCheckpoint wrote it

    // Its 00000002 first, by hand: the backup holds a 00000001, but of the first run: not a parent.
    const channel = opened.channel(
      await connectToBackup(receiver.endpoint, (await testPair()).primary, await primaryRun(restarted)),
    );
    const answer = await offerByHand(channel, restarted, '00000002');
    expect(answer).toMatchObject({ type: 'refuse', reason: 'missing-parent', have: [] });
    channel.destroy();
    // Shipped properly: its own 00000001 lands (it is not "had" by name), then 00000002 on top of it.
    const shipped = await ship(restarted, receiver);
    expect(shipped.map((r) => r.name)).toEqual(['00000001', '00000002']);
    await fakeCheckpoint(second, '00000001', null, { 'pages-1.img': 4096, 'pagemap-1.img': 100 });
    await ship(second, receiver);

    for (const images of [first, restarted]) {
      const dir = await backupRunDir(backup, runOf(images));
      expect(await held(backup, runOf(images))).toEqual(['00000001', '00000002']);
      for (const name of ['00000001', '00000002'])
        expect(await sameBytes(join(images, name, 'pages-1.img'), join(dir, name, 'pages-1.img'))).toBe(true);
      expect(await readlink(join(dir, '00000002', 'parent'))).toBe('../00000001');
    }
    expect(await held(backup, runOf(second))).toEqual(['00000001']);
    expect(
      readRuns(backup)
        .map((r) => r.id)
        .sort(),
    ).toEqual([runOf(first), runOf(restarted), runOf(second)].sort());
  });

  it('within a run: the same name with other content is refused, the same content is "have", a name that goes backwards is refused', async () => {
    const primary = await imagesDir();
    const backup = await imagesDir('remusd-backup-');
    const receiver = await receiverIn(backup, 1);
    await fakeCheckpoint(primary, '00000001', null, { 'pages-1.img': 4096 });
    await fakeCheckpoint(primary, '00000002', null, { 'pages-1.img': 4096 });
    await ship(primary, receiver);
    const channel = opened.channel(
      await connectToBackup(receiver.endpoint, (await testPair()).primary, await primaryRun(primary)),
    );
    expect(await offerByHand(channel, primary, '00000002')).toEqual({ type: 'have', name: '00000002' });
    // Retention (keep 1) removed nothing yet: only 00000002 was shipped. 00000001 now would go backwards.
    expect(await offerByHand(channel, primary, '00000001')).toMatchObject({
      type: 'refuse',
      reason: 'invalid',
      message: expect.stringMatching(
        /refusing 00000001 of run .*: names go backwards \(this backup has had 00000002 of that run already\)/,
      ),
    });
    await fakeCheckpoint(primary, '00000002', null, { 'pages-1.img': 8192 }); // rewritten under the same name
    expect(await offerByHand(channel, primary, '00000002')).toMatchObject({
      type: 'refuse',
      reason: 'invalid',
      message: expect.stringMatching(
        /this backup holds a different 00000002 of that run \(pages-1\.img is 8192 bytes with xxh64 [0-9a-f]{16}, the held one 4096 bytes/,
      ),
    });
  });
});
