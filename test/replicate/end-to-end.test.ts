import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait } from '../helpers/workload.js';
import {
  backupLatest,
  backupRunDir,
  expectResumed,
  replicated,
  sameBytes,
  shipArgs,
  startBackup,
  startShipper,
  stoppedAfterEach,
  takeCheckpoints,
  waitFor,
  writesBefore,
} from './helpers.js';
import { failoverOutput } from '../../src/cli/json-schemas.js';

// The whole path with real processes: the supervisor checkpoints a live workload with real CRIU, `remusd
// ship` sends each checkpoint over TCP on 127.0.0.1 to `remusd backup`, the workload is killed (the primary
// fails) and `remusd failover` brings it back from the backup's copy.

const stopped = stoppedAfterEach();

describe('replication (real CRIU, TCP on 127.0.0.1)', () => {
  it('delta checkpoints are shipped as they appear; after the primary dies, failover restores the newest one intact', async () => {
    const criu = await testCriu();
    const workload = await stopped.workload(['--mib', '64', '--phases', '500:1000000', '--report-ms', '50']);
    const { images, backupDir, shipper, newest, shipped } = await replicated({
      pid: workload.pid,
      mode: 'delta',
      count: 6,
    });

    // The primary fails: the workload dies. Its counter before the newest shipped checkpoint started is
    // the floor the restored process must be at or above.
    const floor = await writesBefore(images, newest, workload);
    const pid = workload.pid;
    await killAndWait(pid);
    const linesAtDeath = (await workload.read()).progress.length;

    const failover = await runCli(['failover', '--dir', backupDir, '--criu', criu.command, '--json']);
    expect(failover.exitCode, failover.stderr).toBe(0);
    const result = failoverOutput.parse(JSON.parse(failover.stdout)); // the documented --json shape
    expect(result).toMatchObject({ name: newest, pid, skipped: [], verified: 'manifests' });
    const resumedAt = await expectResumed(workload, linesAtDeath, floor);

    const full = shipped.find((r) => r.parent === null)!;
    const deltas = shipped.filter((r) => r.parent !== null);
    expect(deltas.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...deltas.map((r) => r.bytes))).toBeLessThan(full.bytes / 5);
    console.log(
      `shipped ${shipped.length} checkpoints; full ${full.bytes} B in ${full.ms} ms; deltas ${deltas.map((r) => r.bytes).join(', ')} B in ` +
        `${deltas.map((r) => r.ms).join(', ')} ms; lag ${shipped.map((r) => r.lag_ms).join(', ')} ms; ` +
        `failover restored ${result.name} (chain of ${result.chain_length}) in ${result.wall_ms} ms; writes floor ${floor}, resumed at ${resumedAt}`,
    );
    shipper.process.kill('SIGTERM');
    expect((await shipper.process).exitCode).toBe(0);
  });

  it('a shipper killed with -9 mid-transfer leaves no half checkpoint under a final name; a restarted one completes', async () => {
    const criu = await testCriu();
    const workload = await stopped.workload(['--mib', '64', '--phases', '200:1000000', '--report-ms', '50']);
    const root = await imagesDir();
    const images = join(root, 'images');
    const backupDir = join(root, 'backup');
    await takeCheckpoints(root, workload.pid, 'full', 1);
    const backup = await startBackup(backupDir);

    // 64 MiB at 32 MiB/s: about two seconds on the wire, time enough to kill the shipper in the middle.
    const shipper = await startShipper(images, backup.port, ['--once', '--max-rate', '32MiB']);
    await waitFor('bytes landing in the partial directory', async () => {
      const files = await readdir(
        join(await backupRunDir(backupDir).catch(() => backupDir), '.00000001.partial'),
      ).catch(() => [] as string[]);
      return files.some((f) => f.startsWith('pages-')) ? true : undefined;
    });
    process.kill(shipper.process.pid!, 'SIGKILL');
    await shipper.process;
    await waitFor(
      'the backup noticing the drop',
      () => (/closed the connection during 00000001.*discarded/.test(backup.log()) ? true : undefined),
      5_000,
    );
    const runDir = await backupRunDir(backupDir);
    expect((await readdir(runDir)).filter((n) => !n.startsWith('.'))).toEqual(['run.json']); // no 00000001, no latest
    expect(await readdir(runDir)).toEqual(['run.json']); // and the partial is gone too

    const again = await runCli(await shipArgs(images, backup.port, ['--once']));
    expect(again.exitCode, again.stderr).toBe(0);
    expect(await backupLatest(backupDir)).toBe('00000001');
    const pages = (await readdir(join(images, '00000001'))).filter((f) => f.startsWith('pages-'));
    for (const file of pages)
      expect(await sameBytes(join(images, '00000001', file), join(runDir, '00000001', file))).toBe(true);

    // And what arrived restores.
    const pid = workload.pid;
    await killAndWait(pid);
    const failover = await runCli(['failover', '--dir', backupDir, '--criu', criu.command]);
    expect(failover.exitCode, failover.stderr).toBe(0);
    expect(failover.stdout).toMatch(new RegExp(`restored 00000001 \\(chain of 1\\) in \\d+ ms: pid ${pid}$`, 'm'));
    expect((await workload.waitForProgress(2)).corrupt).toEqual([]);
    // 44 s alone here; past the 60 s default at load 19 on 2 cores (a 64 MiB dump, two transfers, a restore).
  }, 120_000);
});
