import { readdir, writeFile } from 'node:fs/promises';
import { restore } from '../../src/criu/restore.js';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isAlive, processState } from '../../src/process/proc.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { readWorkloadOutput } from '../../src/workload/progress.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { readRecords } from '../helpers/records.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
const pids: number[] = [];
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
  await Promise.all(pids.splice(0).map((pid) => killAndWait(pid)));
});

async function writeConfig(dir: string, body: string): Promise<string> {
  const path = join(dir, 'remusd.yaml');
  await writeFile(path, body);
  return path;
}

describe('remusd run (real CRIU)', () => {
  it('kill -9 of the supervisor during a checkpoint leaves the workload running, and a new run --pid takes over', async () => {
    workload = await startWorkload(['--mib', '192', '--phases', '2000:1000000', '--report-ms', '20']);
    const root = await imagesDir();
    const config = await writeConfig(
      root,
      'interval: { initial: 200ms, min: 100ms, max: 1s }\ncheckpoint: { mode: full, dir: ./images }\n',
    );
    const supervisor = spawnCli(['run', '--config', config, '--pid', String(workload.pid)]);
    // Wait until CRIU is writing the second checkpoint, then kill remusd without warning.
    const partial = await waitFor('a checkpoint in progress', async () =>
      (await readdir(join(root, 'images')).catch(() => [] as string[])).find((name) => name === '.00000002.partial'),
    );
    expect(partial).toBeDefined();
    process.kill(supervisor.pid!, 'SIGKILL');
    await supervisor;

    // The orphaned CRIU finishes on its own and thaws the workload; it must be running and making progress.
    await sleep(1500);
    expect(await isAlive(workload.pid)).toBe(true);
    expect(['R', 'S']).toContain(await processState(workload.pid));
    const before = (await workload.read()).progress.at(-1)!;
    const after = (await workload.waitForProgress(5)).progress.at(-1)!;
    expect(after.writes).toBeGreaterThan(before.writes);
    expect(after.tMs - before.tMs).toBeLessThan(2000);

    // A new supervisor attaches, cleans up what the killed one left, and numbers on from the last complete checkpoint.
    const takeover = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '2']);
    expect(takeover.exitCode, takeover.stderr).toBe(0);
    const names = await readdir(join(root, 'images'));
    expect(names.filter((name) => name.endsWith('.partial'))).toEqual([]);
    const records = await readRecords(join(root, 'images', 'records.jsonl'));
    const seqs = records.map((r) => r.seq);
    expect(seqs.slice(-2)[1]! - seqs.slice(-2)[0]!).toBe(1);
    expect(seqs.at(-1)).toBeGreaterThanOrEqual(3);
    expect(new Set(seqs).size).toBe(seqs.length); // no number used twice
    expect(await isAlive(workload.pid)).toBe(true); // and the workload still runs after remusd exits
  });

  it('hot reload: a new lmax applies at the next decision; an invalid file is refused and the loop goes on', async () => {
    const binary = await ensureDirtierBinary();
    const root = await imagesDir();
    const base =
      'interval: { initial: 200ms, min: 100ms, max: 400ms }\npolicy: { kind: threshold }\ncheckpoint: { mode: full, dir: ./images }\n';
    // A full dump of 8 MiB is ~8.2 MiB: above lmax 4MiB (shrink), inside [1MiB, 64MiB] (hold).
    const config = await writeConfig(root, `thresholds: { lmin: 1MiB, lmax: 4MiB }\n${base}`);
    const supervisor = spawnCli(['run', '--config', config, '--stop-workload', '--', binary, '--mib', '8']);
    let log = '';
    supervisor.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const recordsPath = join(root, 'images', 'records.jsonl');
    await waitFor('2 records', async () => ((await readRecords(recordsPath)).length >= 2 ? true : undefined));
    await writeConfig(root, `thresholds: { lmin: 1MiB, lmax: 64MiB }\n${base}`);
    const reloadedAt = await waitFor('a decision under the new lmax', async () => {
      const held = (await readRecords(recordsPath)).find((r) => r.reason.includes('lmax 64.0 MiB'));
      return held;
    });
    // The size (~8.2 MiB) is now inside [1 MiB, 64 MiB]: the interval holds where lmax 4 MiB had pushed it.
    expect(reloadedAt.decision).toBe('hold');
    expect(reloadedAt.reason).toContain('within');
    const countAtInvalid = (await readRecords(recordsPath)).length;
    await writeConfig(root, `thresholds: { lmin: 9MiB, lmax: 2MiB }\n${base}`); // lmin > lmax: refused
    await waitFor('the refusal', async () => (log.includes('config reload refused') ? true : undefined));
    const countAtRefusal = (await readRecords(recordsPath)).length;
    await waitFor('3 more records', async () =>
      (await readRecords(recordsPath)).length >= countAtRefusal + 3 ? true : undefined,
    );
    process.kill(supervisor.pid!, 'SIGTERM');
    const result = await supervisor;
    expect(result.exitCode).toBe(0);
    expect(log).toContain('config reloaded');
    expect(log).toMatch(/config reload refused[^]*remusd\.yaml[^]*lmin/);
    const after = (await readRecords(recordsPath)).slice(countAtInvalid);
    expect(after.every((r) => r.reason.includes('lmax 64.0 MiB'))).toBe(true); // the last good config stayed in force
  });

  it("the workload exiting ends the supervisor with a message and the workload's status", async () => {
    const binary = await ensureDirtierBinary();
    const root = await imagesDir();
    const config = await writeConfig(root, 'interval: { initial: 200ms }\ncheckpoint: { mode: full, dir: ./images }\n');
    // 3 s of life: at load ~20 one CRIU dump took 0.6 s, and 1.5 s then held only 2 checkpoints.
    const result = await runCli(['run', '--config', config, '--', binary, '--mib', '4', '--quit-after-s', '3']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/workload \d+ ended \(exited with status 0\) after \d+ checkpoint/);
    const records = await readRecords(join(root, 'images', 'records.jsonl'));
    expect(records.length).toBeGreaterThanOrEqual(3);
    const output = await readWorkloadOutput(join(root, 'images', 'workload.out'));
    expect(output.progress.length).toBeGreaterThan(0); // stdout went to the file, appended
  });

  it("CRIU failing again and again: logged with CRIU's own words, retried, then exit 5; the workload is never left stopped", async () => {
    // A fit target (a session leader: remusd refuses others before any dump), and a CRIU action script
    // that fails: CRIU then fails every dump in its own words ("Pre dump script failed").
    const { spawn } = await import('node:child_process');
    const child = spawn('sleep', ['60'], { stdio: 'ignore', detached: true });
    pids.push(child.pid!);
    const root = await imagesDir();
    const config = await writeConfig(
      root,
      'checkpoint: { mode: full, dir: ./images }\ncriu: { extra_args: [--action-script, /bin/false] }\n' +
        'failures: { max_consecutive: 3, backoff_initial: 50ms, backoff_max: 100ms }\n',
    );
    const result = await runCli(['run', '--config', config, '--pid', String(child.pid)]);
    expect(result.exitCode, result.stderr).toBe(5);
    expect(result.stderr).toContain('Pre dump script failed');
    expect(result.stderr).toMatch(/checkpoint 1 failed \(1 in a row\)/);
    expect(result.stderr).toMatch(/3 checkpoints failed in a row; last: criu dump exited with 1/);
    expect(result.stderr).toMatch(/Error \(criu\/action-scripts\.c/); // the tail of CRIU's log is shown
    expect(['S', 'R']).toContain(await processState(child.pid!));
    const names = await readdir(join(root, 'images'));
    expect(names.filter((n) => /^\.?\d{8}/.test(n))).toEqual([]); // nothing half-written left behind
    expect(names).toContain('last-failure.log');
  });

  it('retention in delta mode: keeps the newest K and every parent they need, starts new chains, and the newest restores', async () => {
    workload = await startWorkload(['--mib', '16', '--phases', '400:1000000']);
    const root = await imagesDir();
    const config = await writeConfig(
      root,
      'interval: { initial: 150ms, min: 100ms, max: 1s }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 2, new_chain_every: 3 } }\n',
    );
    const result = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '6']);
    expect(result.exitCode, result.stderr).toBe(0);
    const records = await readRecords(join(root, 'images', 'records.jsonl'));
    expect(records.map((r) => r.parent)).toEqual([null, '00000001', '00000002', null, '00000004', '00000005']);
    expect(records[3]!.chain).toContain('new_chain_every 3');
    // keep 2 → 00000005 and 00000006, and 00000004 because 00000005's parent link needs it.
    const names = (await readdir(join(root, 'images'))).filter((n) => /^\d{8}$/.test(n)).sort();
    expect(names).toEqual(['00000004', '00000005', '00000006']);
    const pid = workload.pid;
    await killAndWait(pid);
    const restored = await restore(await testCriu(), { imagesDir: join(root, 'images', 'latest') });
    expect(restored.exitCode).toBe(0);
    expect(await isAlive(pid)).toBe(true);
    expect((await workload.waitForProgress(2)).corrupt).toEqual([]);
  });

  it('serves Prometheus metrics on loopback while it runs', async () => {
    const binary = await ensureDirtierBinary();
    const root = await imagesDir();
    const port = 20000 + Math.floor(Math.random() * 20000);
    const config = await writeConfig(
      root,
      `interval: { initial: 100ms }\ncheckpoint: { mode: full, dir: ./images }\nmetrics: { listen: "127.0.0.1:${port}" }\n`,
    );
    const supervisor = spawnCli(['run', '--config', config, '--stop-workload', '--', binary, '--mib', '4']);
    const recordsPath = join(root, 'images', 'records.jsonl');
    await waitFor('3 records', async () => ((await readRecords(recordsPath)).length >= 3 ? true : undefined));
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    process.kill(supervisor.pid!, 'SIGTERM');
    await supervisor;
    const total = Number(/^remusd_checkpoints_total (\d+)/m.exec(text)?.[1]);
    expect(total).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^remusd_interval_seconds \d/m);
    expect(text).toMatch(/^remusd_checkpoint_size_bytes_count \d+/m);
    expect(text).toMatch(/^remusd_frozen_seconds_bucket\{le="0.1"\} \d+/m);
    expect(text).toMatch(/^remusd_checkpoint_failures_total 0/m);
  });

  it('kill -9 during a delta rewrite leaves the previous chain intact and restorable; the half-written one is removed', async () => {
    workload = await startWorkload(['--mib', '192', '--phases', '3000:1000000', '--report-ms', '20']);
    const root = await imagesDir();
    const images = join(root, 'images');
    const config = await writeConfig(
      root,
      'interval: { initial: 300ms, min: 100ms, max: 1s }\ncheckpoint: { mode: delta, dir: ./images }\n',
    );
    const supervisor = spawnCli(['run', '--config', config, '--pid', String(workload.pid)]);
    // Wait until the third checkpoint's rewrite has begun (its temporary files exist), then kill remusd.
    await waitFor('a delta rewrite in progress', async () => {
      const files = await readdir(join(images, '.00000003.partial')).catch(() => [] as string[]);
      return files.some((f) => f.endsWith('.remusd-delta-tmp')) ? true : undefined;
    });
    process.kill(supervisor.pid!, 'SIGKILL');
    await supervisor;
    const names = await readdir(images);
    expect(names).toContain('.00000003.partial'); // the half-written checkpoint, under its temporary name only
    expect(names).not.toContain('00000003');
    const records = await readRecords(join(images, 'records.jsonl'));
    expect(records.map((r) => [r.seq, r.parent])).toEqual([
      [1, null],
      [2, '00000001'],
    ]);

    // The previous chain is untouched: CRIU restores its newest link (00000002 on top of 00000001).
    const pid = workload.pid;
    await killAndWait(pid);
    const linesBefore = (await workload.read()).progress.length;
    const restored = await restore(await testCriu(), { imagesDir: join(images, 'latest') });
    expect(restored.exitCode).toBe(0);
    expect(await isAlive(pid)).toBe(true);
    const after = await workload.waitForProgress(3);
    expect(after.corrupt).toEqual([]);
    expect(after.progress.length).toBeGreaterThan(linesBefore);

    // A new supervisor removes the half-written directory and continues the chain from 00000002's saved hashes.
    const takeover = await runCli(['run', '--config', config, '--pid', String(pid), '--max-checkpoints', '2']);
    expect(takeover.exitCode, takeover.stderr).toBe(0);
    expect(takeover.stderr).toContain('half-written');
    expect(takeover.stderr).toContain('continuing the delta chain from checkpoint 00000002');
    expect((await readdir(images)).filter((n) => n.endsWith('.partial'))).toEqual([]);
    const resumed = (await readRecords(join(images, 'records.jsonl'))).slice(2);
    expect(resumed.map((r) => [r.seq, r.parent])).toEqual([
      [3, '00000002'],
      [4, '00000003'],
    ]);
    expect(resumed[0]!.reason).toContain('first checkpoint of this run');
    // Only the changed pages, not the 192 MiB the workload holds. The restored dirtier catches up on its
    // monotonic clock (dirtier.c), so it has rewritten 3000 pages for every second since checkpoint 2 began
    // (~36 MiB idle; 69 MiB at load 20, 128 MiB at load 15 with a soak beside it): the bound is what that
    // rate allows over this run's own seconds, +10 % and 2 MiB, always below a full-size checkpoint.
    const seconds = (Date.parse(resumed[0]!.start) - Date.parse(records[1]!.start)) / 1000;
    const fullBytes = 192 * 2 ** 20;
    const changedBytes = Math.min(3000 * 4096 * seconds * 1.1 + 2 * 2 ** 20, fullBytes - 2 ** 20);
    expect(resumed[0]!.size_bytes, `${seconds.toFixed(1)} s after checkpoint 2`).toBeLessThan(changedBytes);
    expect(resumed[0]!.criu_pages_written as number).toBeGreaterThan((192 * 2 ** 20) / 4096);
  });

  it('a restarted supervisor in delta mode refuses corrupt saved hashes and starts a new chain, saying why', async () => {
    workload = await startWorkload(['--mib', '16', '--phases', '400:1000000']);
    const root = await imagesDir();
    const images = join(root, 'images');
    const config = await writeConfig(
      root,
      'interval: { initial: 150ms }\ncheckpoint: { mode: delta, dir: ./images }\n',
    );
    const first = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '2']);
    expect(first.exitCode, first.stderr).toBe(0);
    await writeFile(join(images, '00000002', 'remusd-page-hashes.bin'), 'garbage');
    const second = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '2']);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/starting a new delta chain: .*remusd-page-hashes\.bin: not a remusd hash state/);
    const records = await readRecords(join(images, 'records.jsonl'));
    expect(records.map((r) => [r.seq, r.parent])).toEqual([
      [1, null],
      [2, '00000001'],
      [3, null],
      [4, '00000003'],
    ]);
  });

  it('a metrics address that cannot be bound fails with exit 2 before any workload is started', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as { port: number };
    try {
      const binary = await ensureDirtierBinary();
      const root = await imagesDir();
      const config = await writeConfig(
        root,
        `checkpoint: { mode: full, dir: ./images }\nmetrics: { listen: "127.0.0.1:${port}" }\n`,
      );
      const result = await runCli(['run', '--config', config, '--', binary, '--mib', '4']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toContain(`metrics.listen 127.0.0.1:${port}: cannot listen there (EADDRINUSE)`);
      expect(await readdir(join(root, 'images'))).not.toContain('workload.out'); // nothing was started
    } finally {
      blocker.close();
    }
  });

  it("a workload that exits non-zero ends the supervisor with exit status 4 and the workload's own status", async () => {
    const root = await imagesDir();
    const config = await writeConfig(root, 'interval: { initial: 200ms }\ncheckpoint: { mode: full, dir: ./images }\n');
    const result = await runCli(['run', '--config', config, '--', 'sh', '-c', 'sleep 1.2; exit 3']);
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/workload \d+ ended \(exited with status 3\)/);
  });
});
