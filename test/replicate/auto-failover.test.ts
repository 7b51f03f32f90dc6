import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/process/proc.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait } from '../helpers/workload.js';
import {
  backupArgs,
  expectResumed,
  readFailoverReport,
  replicated,
  stoppedAfterEach,
  waitForFailoverReport,
  writesBefore,
} from './helpers.js';

// Automatic failover with real processes: the supervisor checkpoints a live workload with real CRIU in
// delta mode, `remusd ship --pid` sends the checkpoints and the workload's state over TCP on 127.0.0.1 to
// `remusd backup --failover-after 2s`, and the primary fails in different ways.

const FAILOVER_AFTER_MS = 2_000;

const stopped = stoppedAfterEach();

/**
 * A primary with a backup: workload, backup (auto failover on), shipper watching the workload, and four
 * delta checkpoints made by the supervisor and shipped. Returns once the backup holds the newest one.
 */
async function primaryWithBackup() {
  const criu = await testCriu();
  const workload = await stopped.workload(['--mib', '32', '--phases', '500:1000000', '--report-ms', '50']);
  const replication = await replicated({
    pid: workload.pid,
    mode: 'delta',
    count: 4,
    backupArgs: ['--failover-after', `${FAILOVER_AFTER_MS}ms`, '--criu', criu.command],
    shipArgs: ['--pid', String(workload.pid)],
  });
  return { ...replication, workload };
}

/** Waits for the backup's failover.json; returns it with the ms since `since` (Date.now()). */
async function failoverReport(dir: string, since: number) {
  const report = await waitForFailoverReport(dir);
  return { report, ms: Date.now() - since };
}

describe('automatic failover (real CRIU, TCP on 127.0.0.1)', () => {
  it('the workload is killed: the shipper reports it and the backup restores the newest checkpoint at once', async () => {
    const { images, backupDir, backup, newest, workload: w } = await primaryWithBackup();
    const floor = await writesBefore(images, newest, w);
    const killed = Date.now();
    await killAndWait(w.pid);
    const linesAtDeath = (await w.read()).progress.length;

    const { report, ms } = await failoverReport(backupDir, killed);
    expect(report, backup.log()).toMatchObject({
      ok: true,
      reason: 'workload-dead',
      checkpoint: newest,
      chain_length: 4,
      pid: w.pid,
    });
    // Past the trigger, the whole chain is verified again before CRIU runs (every file hashed against its
    // manifest): measured and reported as verify_ms, and not part of how quickly the trigger fires.
    expect(report.verify_ms).toBeGreaterThanOrEqual(0);
    expect(ms - report.verify_ms!).toBeLessThan(5_000);
    expect(report.message).toMatch(new RegExp(`reports the workload \\(pid ${w.pid}\\) dead`));
    const resumedAt = await expectResumed(w, linesAtDeath, floor);
    const exited = await backup.process;
    expect(exited.exitCode, backup.log()).toBe(0);
    expect(backup.out()).toMatch(
      new RegExp(
        `failed over \\(workload-dead\\): restored ${newest} \\(chain of 4\\) in \\d+ ms from the trigger: pid ${w.pid}`,
      ),
    );
    expect(backup.log()).toMatch(/failing over \(workload-dead\)/);
    // At most once, across restarts too.
    const again = await runCli(await backupArgs(backupDir, ['--failover-after', '2s']), { timeoutMs: 10_000 });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/was failed over from already \(workload-dead/);
    console.log(
      `workload-dead: kill → failover.json ${ms} ms (trigger → restored ${report.trigger_to_restored_ms} ms, verify ${report.verify_ms} ms, criu restore ${report.restore_ms} ms); writes floor ${floor}, resumed at ${resumedAt}`,
    );
  });

  it('the primary host dies (shipper and workload killed): the backup restores after the silence limit', async () => {
    const { images, backupDir, backup, shipper, newest, workload: w } = await primaryWithBackup();
    const floor = await writesBefore(images, newest, w);
    const killed = Date.now();
    process.kill(shipper.process.pid!, 'SIGKILL'); // first, so that it cannot report the workload's death
    await shipper.process;
    await killAndWait(w.pid);
    const linesAtDeath = (await w.read()).progress.length;

    const { report, ms } = await failoverReport(backupDir, killed);
    expect(report, backup.log()).toMatchObject({ ok: true, reason: 'silence', checkpoint: newest, pid: w.pid });
    expect(report.silent_ms).toBeGreaterThanOrEqual(FAILOVER_AFTER_MS);
    expect(ms).toBeGreaterThan(FAILOVER_AFTER_MS - 1_300); // the last heartbeat came ≤ ~1.2 s before the kill
    // Detection, not verification and CRIU's restore (0.7–5.5 s at a load average of 16–20): the trigger fired
    // within the limit plus the 1 s heartbeat and scheduling slack.
    expect(ms - report.trigger_to_restored_ms!).toBeLessThan(FAILOVER_AFTER_MS + 2_000);
    expect(report.message).toMatch(/no message from the shipper for \d+ ms \(limit 2000 ms/);
    const resumedAt = await expectResumed(w, linesAtDeath, floor);
    expect((await backup.process).exitCode, backup.log()).toBe(0);
    console.log(
      `silence: kill → failover.json ${ms} ms (silent ${report.silent_ms} ms, trigger → restored ${report.trigger_to_restored_ms} ms, verify ${report.verify_ms} ms); writes floor ${floor}, resumed at ${resumedAt}`,
    );
  });

  it('a shipper stopped with SIGTERM says goodbye: no failover, the workload is untouched', async () => {
    const { backupDir, backup, shipper, workload: w } = await primaryWithBackup();
    const before = (await w.read()).progress.length;
    process.kill(shipper.process.pid!, 'SIGTERM');
    expect((await shipper.process).exitCode, shipper.log()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2 * FAILOVER_AFTER_MS + 500));
    expect(await readFailoverReport(backupDir)).toBeNull();
    expect(backup.running(), backup.log()).toBe(true);
    expect(backup.log()).toMatch(/said goodbye/);
    expect(backup.log()).not.toMatch(/failing over \(/); // not "… not failing over", logged if silence came before any checkpoint
    expect(await isAlive(w.pid)).toBe(true);
    const after = await w.waitForProgress(2);
    expect(after.corrupt).toEqual([]);
    // Untouched: one unbroken run of progress lines (no restart from an older write count).
    const writes = after.progress.slice(before - 1).map((p) => p.writes);
    expect(writes).toEqual([...writes].sort((a, b) => a - b));
  });

  it('split brain on one machine: only the shipper dies, the restore collides with the live workload and fails clearly', async () => {
    const { backupDir, backup, shipper, workload: w } = await primaryWithBackup();
    process.kill(shipper.process.pid!, 'SIGKILL');
    await shipper.process;

    const { report } = await failoverReport(backupDir, Date.now());
    expect(report).toMatchObject({ ok: false, reason: 'silence' });
    expect(report.error).toMatch(/pid is in use on this machine.*split brain.*CRIU said: criu restore of .* failed/s);
    expect(report.error).toContain(`its pids in use now: ${w.pid} (state `); // the live workload holds it
    const exited = await backup.process;
    expect(exited.exitCode).toBe(1);
    expect(backup.log()).toMatch(/automatic failover failed: .*split brain/);
    expect(await isAlive(w.pid)).toBe(true);
    expect((await w.waitForProgress(2)).corrupt).toEqual([]);
    console.log(`split brain reported as: ${report.error!.split('\n').slice(0, 4).join(' | ')}`);
  });
});

describe('at most once, even when failover.json cannot be read', () => {
  // Arming again after a failover would restore the workload a second time (a split brain): a failover.json
  // that is torn, garbage or not a file must refuse, never pass for "no failover yet".
  const cases: [string, (path: string) => Promise<void>, RegExp][] = [
    ['torn', (path) => writeFile(path, '{"ok": true, "reason": "workload-dead", "checkp'), /is not JSON/],
    ['of another shape', (path) => writeFile(path, '{"ok": "yes"}\n'), /: ok: .*expected boolean/],
    ['a directory', (path) => mkdir(path), /is a directory, not a regular file/],
  ];
  for (const [what, make, why] of cases) {
    it(`failover.json ${what}: backup --failover-after refuses to arm (exit 2), naming the file`, async () => {
      const backupDir = join(await imagesDir(), 'backup');
      await mkdir(backupDir);
      const path = join(backupDir, 'failover.json');
      await make(path);
      // Without the refusal it would listen until killed: the timeout shows as exit code undefined.
      const armed = await runCli(await backupArgs(backupDir, ['--failover-after', '2s']), { timeoutMs: 8_000 });
      expect(armed.exitCode, armed.stderr + armed.stdout).toBe(2);
      expect(armed.stderr).toContain(`not arming the automatic failover: ${path}`);
      expect(armed.stderr).toMatch(why);
      expect(armed.stderr).toMatch(/expected a JSON object with at least "ok" \(boolean\) and "reason" \(string\)/);
      expect(armed.stdout).not.toMatch(/listening on/);
    });
  }
});
