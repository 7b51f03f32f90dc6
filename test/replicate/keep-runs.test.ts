import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_NAME } from '../../src/loop/dir-lock.js';
import { startTime } from '../../src/process/proc.js';
import { connectToBackup } from '../../src/replicate/backup-connection.js';
import { RUNS_DIR } from '../../src/replicate/backup-runs.js';
import type { Channel } from '../../src/replicate/channel.js';
import { readRuns } from '../../src/replicate/failover.js';
import { chooseRun } from '../../src/replicate/run-choice.js';
import { shipOnce } from '../../src/replicate/sender.js';
import { imagesDir } from '../helpers/criu.js';
import { sleep } from '../helpers/wait.js';
import { collectingLog, fakeCheckpoint, primaryRun, startBackup, stopDaemons, testPair, waitFor } from './helpers.js';

// backup --keep-runs with real transfers (TLS on 127.0.0.1, `remusd backup` as its own process): every restart
// of a primary on a fresh images directory is a new run on the backup, with a full base checkpoint of its own.
// Only the newest keep-runs runs stay, and a run whose sender is still connected is never removed.

let open: Channel | undefined;
afterEach(async () => {
  open?.destroy();
  open = undefined;
  await stopDaemons();
});

const runsHeld = async (backup: string) =>
  (await readdir(join(backup, RUNS_DIR)).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort();

/** A primary's life: a fresh images directory with a two-link chain, shipped to the backup at `port`. */
async function primaryLife(port: number): Promise<string> {
  const images = await imagesDir('remusd-life-');
  await fakeCheckpoint(images, '00000001', null, { 'pages-1.img': 64 << 10, 'pagemap-1.img': 100 });
  await fakeCheckpoint(images, '00000002', '00000001', { 'pages-1.img': 4096, 'pagemap-1.img': 100 });
  const credentials = (await testPair()).primary;
  await shipOnce({ images, log: collectingLog(), to: { host: '127.0.0.1', port }, credentials });
  await sleep(20); // the next life's checkpoints are taken later by the primary's clock
  return (await primaryRun(images)).id;
}

describe('backup --keep-runs: old primary runs are removed, never one still receiving', () => {
  it('five lives of the primary, keep-runs 2: the two newest stay; a connected older run survives until it leaves', async () => {
    const backup = await imagesDir('remusd-backup-');
    // A removal cut short by a crash (renamed, not yet deleted) is finished at the next start.
    const leftover = join(backup, RUNS_DIR, '.0f0e0d0c-0000-4000-8000-000000000000.pruning');
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, 'run.json'), '{}');
    const daemon = await startBackup(backup, ['--keep-runs', '2']);
    expect(await readdir(join(backup, RUNS_DIR))).toEqual([]);

    const lives: string[] = [];
    const firstImages = await imagesDir('remusd-life-');
    await fakeCheckpoint(firstImages, '00000001', null, { 'pages-1.img': 64 << 10, 'pagemap-1.img': 100 });
    await shipOnce({
      images: firstImages,
      log: collectingLog(),
      to: { host: '127.0.0.1', port: daemon.port },
      credentials: (await testPair()).primary,
    });
    lives.push((await primaryRun(firstImages)).id);
    // The first life's primary stays connected (as a shipper that is still running would).
    open = await connectToBackup(
      { host: '127.0.0.1', port: daemon.port },
      (await testPair()).primary,
      await primaryRun(firstImages),
    );
    await sleep(20);
    for (let i = 0; i < 4; i++) lives.push(await primaryLife(daemon.port));

    const [first, , , fourth, fifth] = lives;
    const expected = [first!, fourth!, fifth!].sort();
    await waitFor('retention to keep the two newest runs and the connected one', async () =>
      JSON.stringify(await runsHeld(backup)) === JSON.stringify(expected) ? true : undefined,
    );
    expect(daemon.log()).toMatch(
      /retention removed run [0-9a-f-]{36}: run .* is number \d of \d by its newest checkpoint/,
    );
    expect(daemon.log()).toMatch(/finished removing runs retention had begun to remove/);

    // The first life's sender leaves: at the next landing its run goes too, and the newest stays the one a
    // failover restores.
    open.destroy();
    open = undefined;
    await sleep(100);
    const sixth = await primaryLife(daemon.port);
    await waitFor('the disconnected old run to go', async () =>
      JSON.stringify(await runsHeld(backup)) === JSON.stringify([fifth!, sixth].sort()) ? true : undefined,
    );
    const choice = chooseRun(readRuns(backup));
    expect(choice.ok && choice.run.id).toBe(sixth);
    expect(await readdir(join(backup, RUNS_DIR))).not.toContain(leftover.split('/').at(-1));
  });

  it('while a restore holds the backup directory (remusd failover by hand), retention removes nothing', async () => {
    const backup = await imagesDir('remusd-backup-');
    await mkdir(backup, { recursive: true });
    // A live process as the holder, as `remusd failover --dir BACKUP` is while it verifies and restores.
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = holder.pid!;
      const started = await waitFor('the holder', () => startTime(pid));
      await writeFile(join(backup, LOCK_NAME), `${JSON.stringify({ pid, start_time: started })}\n`);
      const daemon = await startBackup(backup, ['--keep-runs', '1']);
      const lives = [await primaryLife(daemon.port), await primaryLife(daemon.port), await primaryLife(daemon.port)];
      await waitFor('retention to be skipped', async () =>
        /retention skipped: a restore is reading .* \(pid \d+\)/.test(daemon.log()) ? true : undefined,
      );
      expect(await runsHeld(backup)).toEqual([...lives].sort());
      holder.kill('SIGKILL');
      await new Promise((resolve) => holder.once('exit', resolve));
      const next = await primaryLife(daemon.port); // the lock's owner is gone: the next pass removes the rest
      await waitFor('retention once the restore let go', async () =>
        JSON.stringify(await runsHeld(backup)) === JSON.stringify([next]) ? true : undefined,
      );
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
