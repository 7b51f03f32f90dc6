import { execFile } from 'node:child_process';
import { mkdir, open, readdir, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { criuLogTail } from '../../src/criu/exec.js';
import type { CriuLocation } from '../../src/criu/locate.js';
import { pageSize } from '../../src/criu/probe.js';
import { restore } from '../../src/criu/restore.js';
import { isAlive } from '../../src/process/proc.js';
import { failover, FailoverError } from '../../src/replicate/failover.js';
import { connectToBackup } from '../../src/replicate/backup-connection.js';
import { shipChain } from '../../src/replicate/ship-chain.js';
import { verifyChain } from '../../src/replicate/verify.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';
import { backupRunDir, collectingLog, loopbackReceiver, primaryRun, testPair } from './helpers.js';

// Verification before restore, on real CRIU checkpoints of a live workload shipped to a real receiver:
// six delta checkpoints in three chains (new_chain_every 2): 1 ← 2, 3 ← 4, 5 ← 6. Each test damages a
// fresh copy of the backup the way an attacker, a disk or a person could, and fails over from it. The
// workload (the bundled dirtier) checks every page of its memory after a restore: a wrong page is caught.

const exec = promisify(execFile);
let criu: CriuLocation;
let workload: TestWorkload;
let images: string;
let pristine: string;
let run: string;

beforeAll(async () => {
  criu = await testCriu();
  // 100 pages/s over 8192: most pages of a chain's base are still the base's at its delta.
  workload = await startWorkload(['--mib', '32', '--phases', '100:1000000', '--report-ms', '50']);
  const root = await imagesDir();
  images = join(root, 'images');
  const config = join(root, 'remusd.yaml');
  await writeFile(
    config,
    'interval: { initial: 300ms, min: 200ms, max: 1s }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 10, new_chain_every: 2 } }\n',
  );
  const supervised = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '6']);
  expect(supervised.exitCode, supervised.stderr).toBe(0);
  pristine = join(root, 'backup');
  const receiver = await loopbackReceiver(pristine, 10);
  const identity = await primaryRun(images);
  run = identity.id;
  const channel = await connectToBackup(receiver.endpoint, (await testPair()).primary, identity);
  for (let seq = 1; seq <= 6; seq++)
    await shipChain(channel, `0000000${seq}`, { images, log: collectingLog(), run: identity });
  channel.destroy();
  await receiver.close();
  await killAndWait(workload.pid); // the primary fails; each test restores it from a copy of the backup
}, 120_000);

afterAll(async () => {
  await workload?.stop();
});

/** A fresh copy of the backup (or of the primary's images), to damage. */
async function copyOf(source: string): Promise<string> {
  const dir = join(await imagesDir('remusd-verify-'), 'copy');
  await exec('cp', ['-a', source, dir]);
  return dir;
}

/** The one pages image of a checkpoint directory. */
async function pagesImage(dir: string): Promise<string> {
  const pages = (await readdir(dir)).filter((f) => /^pages-\d+\.img$/.test(f));
  expect(pages).toHaveLength(1);
  return join(dir, pages[0]!);
}

/** XORs `bytes` bytes in the middle of a file (same size, same structure: only the content changes). */
async function flip(path: string, bytes: number): Promise<void> {
  const { size } = await stat(path);
  const offset = Math.floor((size - bytes) / 2 / 4096) * 4096;
  const handle = await open(path, 'r+');
  try {
    const buffer = Buffer.alloc(bytes);
    await handle.read(buffer, 0, bytes, offset);
    for (let i = 0; i < bytes; i++) buffer[i] = buffer[i]! ^ 0xff;
    await handle.write(buffer, 0, bytes, offset);
  } finally {
    await handle.close();
  }
}

/** Processes whose command line mentions `path` (a CRIU left behind would). */
async function processesMentioning(path: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((n) => /^\d+$/.test(n))) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(path)) found.push(`${pid}: ${cmdline.replaceAll('\0', ' ')}`);
  }
  return found;
}

/** The restored workload runs on with every page intact; then it is killed for the next test. */
async function expectIntactAndStop(pid: number): Promise<void> {
  const before = await workload.read();
  const after = await workload.waitForProgress(3);
  expect(after.corrupt.slice(before.corrupt.length)).toEqual([]); // the negative control's CORRUPT line is in the same file
  expect(after.progress.length).toBeGreaterThan(before.progress.length);
  await killAndGone(pid);
}

/** Kills pid and waits until it is reaped too: a zombie still holds the pid, and the next restore needs it. */
async function killAndGone(pid: number): Promise<void> {
  await killAndWait(pid);
  for (let i = 0; i < 500; i++) {
    try {
      await stat(`/proc/${pid}`);
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`pid ${pid} was not reaped within 10 s`);
}

describe('failover verifies every link before restoring (real CRIU)', () => {
  it('256 KiB flipped in a base pages image is caught before restore; it falls back to the newest older checkpoint that verifies', async () => {
    const backup = await copyOf(pristine);
    const base = await pagesImage(join(await backupRunDir(backup, run), '00000005'));
    await flip(base, 256 << 10);
    const result = await failover(criu, backup);
    expect(result.name).toBe('00000004');
    expect(result.skipped.map((s) => s.name)).toEqual(['00000006', '00000005']);
    for (const skip of result.skipped)
      expect(skip.reason).toMatch(
        new RegExp(
          `${base}: xxh64 is [0-9a-f]{16}, the manifest says [0-9a-f]{16}: its content changed since it arrived`,
        ),
      );
    expect(result).toMatchObject({ run, chainLength: 2, verified: 'manifests', pid: workload.pid });
    await expectIntactAndStop(result.pid);
  });

  it('negative control: the same damage restored without verification gives a corrupt process', async () => {
    const backup = await copyOf(pristine);
    await flip(await pagesImage(join(await backupRunDir(backup, run), '00000005')), 256 << 10);
    const corruptBefore = (await workload.read()).corrupt.length;
    const restored = await restore(criu, { imagesDir: join(await backupRunDir(backup, run), '00000006') });
    expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
    let output = await workload.read();
    for (let i = 0; i < 100 && output.corrupt.length === corruptBefore; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      output = await workload.read();
    }
    expect(output.corrupt.length).toBeGreaterThan(corruptBefore);
    await killAndGone(workload.pid);
  });

  it('a truncated pages image is refused in under 5 s with the file named, and no CRIU process is left', async () => {
    const backup = await copyOf(pristine);
    const runDir = await backupRunDir(backup, run);
    const truncated: string[] = [];
    for (const base of ['00000001', '00000003', '00000005']) {
      const pages = await pagesImage(join(runDir, base));
      await truncate(pages, Math.floor((await stat(pages)).size / 2));
      truncated.push(pages);
    }
    const started = performance.now();
    const refusal = await failover(criu, backup).then(
      () => undefined,
      (error: Error) => error,
    );
    const ms = performance.now() - started;
    expect(refusal).toBeInstanceOf(FailoverError);
    expect(refusal!.message).toMatch(/nothing in run .* verifies, refusing to restore/);
    for (const pages of truncated) expect(refusal!.message).toContain(`${pages}: is `);
    // CRIU never ran (before these checks it hung for its 2-minute timeout): the time is reading the six
    // manifests and hashing until the first bad size, well under a second here.
    expect(ms).toBeLessThan(5_000);
    expect(await processesMentioning(backup)).toEqual([]);
    expect(await isAlive(workload.pid)).toBe(false);
    // The command says the same and exits with an error.
    const cli = await runCli(['failover', '--dir', backup, '--criu', criu.command]);
    expect(cli.exitCode).toBe(1);
    expect(cli.stderr).toContain(`${truncated[2]}: is `);
    expect(await processesMentioning(backup)).toEqual([]);
    console.log(`truncated pages images refused in ${Math.round(ms)} ms: ${refusal!.message.slice(0, 300)}`);
  });

  it('without manifests (a plain images directory) the structure still catches a truncated pages image', async () => {
    const plain = await copyOf(images);
    const pages = await pagesImage(join(plain, '00000005'));
    await truncate(pages, (await stat(pages)).size - 4096 * 3);
    const size = await pageSize();
    const verdict = await verifyChain({ runDir: plain, run: undefined, pageSize: size }, '00000006');
    expect(verdict).toMatchObject({
      ok: false,
      problem: expect.stringMatching(
        new RegExp(
          `^${pages}: is \\d+ bytes, but pagemap-\\d+\\.img keeps \\d+ pages of ${size} bytes in it \\(\\d+ bytes\\): truncated or padded$`,
        ),
      ),
    });
  });

  it('a parent link that escapes the run (an absolute path, another run, ../..) is refused, naming the link', async () => {
    const backup = await copyOf(pristine);
    const runDir = await backupRunDir(backup, run);
    const other = join(backup, 'runs', '0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e');
    await mkdir(other, { recursive: true });
    await exec('cp', ['-a', join(runDir, '00000005'), join(other, '00000005')]);
    const size = await pageSize();
    const link = join(runDir, '00000006', 'parent');
    for (const target of [
      join(runDir, '00000005'),
      `../../0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e/00000005`,
      '../../../copy/runs/x/00000005',
      '00000005',
    ]) {
      await rm(link);
      await symlink(target, link);
      const verdict = await verifyChain({ runDir, run, pageSize: size }, '00000006');
      expect(verdict).toEqual({
        ok: false,
        problem: `${link}: points at ${JSON.stringify(target)}: a parent must be ../NAME, a directory beside this one (NAME without '/', not '..', at most 255 characters)`,
      });
    }
    // A link of the right form to a checkpoint copied in from another run: its manifest names the other run.
    await rm(join(runDir, '00000005'), { recursive: true });
    await exec('cp', ['-a', join(other, '00000005'), join(runDir, '00000005')]);
    const manifest = join(runDir, '00000005', 'remusd-manifest.json');
    await writeFile(manifest, (await readFile(manifest, 'utf8')).replace(run, '0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e'));
    await rm(link);
    await symlink('../00000005', link);
    expect(await verifyChain({ runDir, run, pageSize: size }, '00000006')).toEqual({
      ok: false,
      problem: `${manifest}: belongs to run 0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e, not to run ${run} whose directory holds it`,
    });
    // And failover, given this, restores the newest checkpoint that verifies instead.
    const result = await failover(criu, backup, { run });
    expect(result.name).toBe('00000004');
    await expectIntactAndStop(result.pid);
  });

  it('a parent link out of the run on the newest checkpoint: failover skips it, naming the link, and restores', async () => {
    const backup = await copyOf(pristine);
    const runDir = await backupRunDir(backup, run);
    const link = join(runDir, '00000006', 'parent');
    await rm(link);
    await symlink('../../../elsewhere/00000005', link);
    const result = await failover(criu, backup, { run });
    expect(result.name).toBe('00000005');
    expect(result.skipped).toEqual([
      {
        name: '00000006',
        reason: `${link}: points at "../../../elsewhere/00000005": a parent must be ../NAME, a directory beside this one (NAME without '/', not '..', at most 255 characters)`,
      },
    ]);
    await expectIntactAndStop(result.pid);
  });
});

describe('failover refuses rather than guess', () => {
  it('says so when the run asked for is not there', async () => {
    await expect(failover(criu, pristine, { run: '0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e' })).rejects.toThrow(
      FailoverError,
    );
  });
});
