import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { TEMPORARY_NAME } from '../../src/fs/atomic-file.js';
import { removeStaleTemporaries, SWEEP_MAX_ENTRIES } from '../../src/fs/stale-temporaries.js';
import { packageRoot } from '../../src/paths.js';
import { removeStaleWrites } from '../../src/store/checkpoints.js';
import { runCheckpoints } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { startBackup, stopDaemons } from '../replicate/helpers.js';
import { killAndWait, startWorkload } from '../helpers/workload.js';
import { sleep } from '../helpers/wait.js';

// A writer killed between creating `.NAME.PID.RANDOM.tmp` and renaming it into place leaves the temporary
// behind, and before this sweep nothing ever removed one: a host restarted for months kept them all. The
// leftovers here are real: a writer of failover.json (test/fs/report-writer.mjs, 256 KiB a write, each
// fsynced) SIGKILLed while it writes.

const writer = join(packageRoot(), 'test', 'fs', 'report-writer.mjs');
const sleepers: number[] = [];
afterAll(async () => {
  for (const pid of sleepers) await killAndWait(pid);
});

// Kills writers of DIR/failover.json until one leaves its temporary file behind; returns that file's name.
async function leftoverOfKilledWriter(dir: string): Promise<string> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const child = execa('node', [writer, dir, `killed${attempt}`, '30'], { reject: false });
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await sleep(30 + attempt * 7); // a different moment of the writes each attempt
    child.kill('SIGKILL');
    await child;
    const left = (await readdir(dir)).filter((name) => name.startsWith(`.failover.json.${child.pid}.`));
    if (left[0] !== undefined) return left[0];
  }
  throw new Error(`20 writers killed mid-write in ${dir} left no temporary file`);
}

// A live process's pid, for a temporary name whose writer still runs.
async function liveSleeper(): Promise<number> {
  const child = execa('sleep', ['60'], { reject: false });
  if (child.pid === undefined) throw new Error('sleep did not start');
  sleepers.push(child.pid);
  return child.pid;
}

describe('temporary files of writers that died', () => {
  it('a sweep removes the dead writer’s temporary, keeps a live writer’s and every other name', async () => {
    const dir = await imagesDir('remusd-stale-');
    const dead = await leftoverOfKilledWriter(dir);
    const live = `.run.json.${await liveSleeper()}.0123456789ab.tmp`;
    const others = ['failover.json', '.notours.tmp', '.run.json.12.short.tmp', 'latest'];
    for (const name of [live, ...others.slice(1)]) await writeFile(join(dir, name), 'x');
    // The control: the leftover is there before the sweep (the writer really died mid-write).
    expect(await readdir(dir)).toContain(dead);

    const sweep = await removeStaleWrites(dir);
    expect(sweep).toEqual({ removed: [dead], kept: [live], truncated: false });
    expect((await readdir(dir)).sort()).toEqual([live, ...others].sort());
  });

  it(`a sweep looks at a bounded number of entries (${SWEEP_MAX_ENTRIES} by default)`, async () => {
    const dir = await imagesDir('remusd-stale-many-');
    for (let i = 0; i < 250; i++) await writeFile(join(dir, `.f${i}.4000000.0123456789ab.tmp`), '');
    const sweep = await removeStaleTemporaries(dir, [TEMPORARY_NAME], { alive: () => false, maxEntries: 200 });
    expect(sweep.truncated).toBe(true);
    expect(sweep.removed.length).toBe(200);
    expect((await readdir(dir)).length).toBe(50);
  });

  it('remusd backup and remusd run remove them at start, and say so', async () => {
    const backupDir = await imagesDir('remusd-stale-backup-');
    const dead = await leftoverOfKilledWriter(backupDir);
    const backup = await startBackup(backupDir);
    try {
      expect(await readdir(backupDir)).not.toContain(dead);
      expect(backup.log()).toContain('temporary file(s) of writers that died mid-write');
      expect(backup.log()).toContain(dead);
    } finally {
      await stopDaemons();
    }

    const images = await imagesDir('remusd-stale-run-');
    const left = await leftoverOfKilledWriter(images);
    const workload = await startWorkload(['--mib', '4']);
    try {
      const run = await runCheckpoints(images, `checkpoint: { mode: full, dir: ${images} }\n`, workload.pid, 1);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stderr).toContain(left);
      expect(await readdir(images)).not.toContain(left);
    } finally {
      await workload.stop();
    }
  });
});
