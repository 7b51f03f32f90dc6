import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { SenderEvent } from '../../src/replicate/events.js';
import { startReceiver, type Receiver } from '../../src/replicate/receiver.js';
import { watchAndShip } from '../../src/replicate/sender.js';
import { WorkloadWatch } from '../../src/replicate/workload-watch.js';
import { imagesDir } from '../helpers/criu.js';
import { backupRunDir, collectingLog, fakeCheckpoint, testPair, waitFor } from './helpers.js';

// The shipper's side of automatic failover, with fake checkpoints and a `sleep` as the workload: the
// workload's death is reported only after the transfer in flight has landed, and a stopping shipper says
// goodbye, even in the middle of a transfer.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup() {
  const root = await imagesDir();
  const events: { at: number; event: SenderEvent }[] = [];
  const log = collectingLog();
  const receiver: Receiver = await startReceiver(
    { host: '127.0.0.1', port: 0 },
    {
      root: join(root, 'backup'),
      credentials: (await testPair()).backup,
      keep: 5,
      log,
      onEvent: (event) => events.push({ at: performance.now(), event }),
    },
  );
  cleanups.push(() => receiver.close());
  const workload: ChildProcess = spawn('sleep', ['60'], { stdio: 'ignore' });
  cleanups.push(() => workload.kill('SIGKILL'));
  const watch = new WorkloadWatch(workload.pid!).start();
  cleanups.push(() => watch.stop());
  const controller = new AbortController();
  const images = join(root, 'images');
  // 8 MiB at 8 MiB/s: a transfer of about a second, time enough to act in the middle of it.
  await fakeCheckpoint(images, '00000001', null, { 'pages-1.img': 8 << 20, 'core-1.img': 100 });
  const shipping = watchAndShip({
    images,
    to: receiver.endpoint,
    credentials: (await testPair()).primary,
    log: collectingLog(),
    signal: controller.signal,
    workload: watch,
    maxBytesPerSecond: 8 << 20,
  });
  cleanups.push(() => (controller.abort(), shipping));
  const transferring = () =>
    waitFor('bytes landing', async () =>
      (
        await readdir(join(await backupRunDir(join(root, 'backup')).catch(() => root), '.00000001.partial')).catch(
          () => [],
        )
      ).length > 0
        ? true
        : undefined,
    );
  return { root, images, events, log, workload, controller, shipping, transferring };
}

describe('the shipper watching the workload', () => {
  it('reports the death after the transfer in flight has landed, and keeps the connection', async () => {
    const { events, workload, transferring } = await setup();
    await transferring();
    const killed = performance.now();
    workload.kill('SIGKILL');
    const dead = await waitFor('workload-dead', () => events.find((e) => e.event.type === 'workload-dead'), 10_000);
    const landed = events.find((e) => e.event.type === 'holds')!;
    expect(landed.event).toMatchObject({ name: '00000001', how: 'received' });
    expect(landed.at).toBeLessThanOrEqual(dead.at);
    expect(dead.event).toMatchObject({ pid: workload.pid });
    // Heartbeats go on, saying dead.
    await waitFor(
      'a heartbeat saying dead',
      () => events.find((e) => e.at > dead.at && e.event.type === 'heard' && e.event.workload === 'dead'),
      5_000,
    );
    expect(events.filter((e) => e.event.type === 'workload-dead')).toHaveLength(1);
    console.log(
      `workload-dead reported ${Math.round(dead.at - killed)} ms after the kill (the transfer finished ${Math.round(landed.at - killed)} ms after it)`,
    );
  });

  it('reports at once when nothing is in flight', async () => {
    const { events, workload } = await setup();
    await waitFor('the checkpoint landed', () => events.find((e) => e.event.type === 'holds'), 10_000);
    const killed = performance.now();
    workload.kill('SIGKILL');
    const dead = await waitFor('workload-dead', () => events.find((e) => e.event.type === 'workload-dead'), 5_000);
    // The watch polls every 100 ms. What this rules out is waiting for the 1 s death grace (meant for a
    // checkpoint in progress): 500 ms left timers that ran late on a busy 2-core machine too little room.
    expect(dead.at - killed).toBeLessThan(1_000);
  });

  it('a checkpoint the supervisor publishes just after the death is shipped before the death is reported', async () => {
    const { images, events, workload } = await setup();
    await waitFor('the first checkpoint landed', () => events.find((e) => e.event.type === 'holds'), 10_000);
    // The supervisor is writing 00000002 (its dump began while the workload lived) when the workload dies.
    await mkdir(join(images, '.00000002.partial'));
    workload.kill('SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 300));
    await fakeCheckpoint(images, '00000002', '00000001', { 'pages-1.img': 4096, 'core-1.img': 100 });
    await rm(join(images, '.00000002.partial'), { recursive: true });
    const dead = await waitFor('workload-dead', () => events.find((e) => e.event.type === 'workload-dead'), 5_000);
    const second = events.find((e) => e.event.type === 'holds' && e.event.name === '00000002');
    expect(second, JSON.stringify(events.map((e) => e.event))).toBeDefined();
    expect(second!.at).toBeLessThanOrEqual(dead.at);
  });

  it('says goodbye when stopped, even mid-transfer; the partial is discarded', async () => {
    const { root, events, log, controller, shipping, transferring } = await setup();
    await transferring();
    controller.abort(new Error('SIGTERM'));
    await shipping;
    await waitFor('the goodbye', () => events.find((e) => e.event.type === 'goodbye'), 5_000);
    await waitFor(
      'the transfer dropped',
      () => (log.lines.some((l) => /ended with the sender's goodbye/.test(l)) ? true : undefined),
      5_000,
    );
    expect(await readdir(await backupRunDir(join(root, 'backup')))).toEqual(['run.json']);
    expect(events.some((e) => e.event.type === 'holds')).toBe(false);
  });
});
