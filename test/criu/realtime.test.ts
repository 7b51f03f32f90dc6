// CRIU at SCHED_FIFO (criu.realtime_priority, src/criu/realtime.ts): the dump really runs at that policy and
// priority, a chain taken that way restores the workload with its memory intact, and a CRIU at SCHED_FIFO
// killed by its timeout in the middle of a dump leaves the workload running, as at normal scheduling.
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { runCriu } from '../../src/criu/exec.js';
import { dump } from '../../src/criu/dump.js';
import { pageSize } from '../../src/criu/probe.js';
import { checkRealtime } from '../../src/criu/realtime.js';
import { criuCheckpointer } from '../../src/loop/criu-checkpointer.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { restoreAndCheck } from '../helpers/restore-check.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { requireRoot } from '../helpers/root.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

const schedulingOf = async (pid: number) => (await execa('chrt', ['-p', String(pid)])).stdout;

const log = { info: () => undefined, warn: (message: string) => console.warn(message) };

describe('CRIU at SCHED_FIFO', () => {
  it('runCriu starts the program at SCHED_FIFO with the priority given, and at normal scheduling without one', async () => {
    requireRoot();
    const dir = await imagesDir('remusd-realtime-');
    // A stand-in for the criu binary that reports its own scheduling (chrt -p on its own pid, which chrt exec'd).
    const program = join(dir, 'report-policy.sh');
    await writeFile(program, `#!/bin/sh\nchrt -p $$ > "${dir}/policy.$1"\n`);
    await chmod(program, 0o755);
    const location = { command: program, source: 'flag' as const };
    for (const [name, priority] of [
      ['fifo', 10],
      ['normal', undefined],
    ] as const) {
      const run = await runCriu(location, [name], { logFile: join(dir, `${name}.log`), realtimePriority: priority });
      expect(run.exitCode).toBe(0);
    }
    const fifo = await readFile(join(dir, 'policy.fifo'), 'utf8');
    expect(fifo).toMatch(/scheduling policy: SCHED_FIFO/);
    expect(fifo).toMatch(/scheduling priority: 10/);
    expect(await readFile(join(dir, 'policy.normal'), 'utf8')).toMatch(/scheduling policy: SCHED_OTHER/);
  });

  it('checkRealtime says when chrt cannot be used, and why', async () => {
    requireRoot();
    expect(await checkRealtime(10)).toEqual({ ok: true });
    const missing = await checkRealtime(10, '/nonexistent/chrt');
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.reason).toMatch(/^\/nonexistent\/chrt --fifo 10 true failed: .*ENOENT/);
    const refused = await checkRealtime(100);
    expect(!refused.ok && refused.reason).toMatch(/chrt --fifo 100 true failed: .*priority/);
  });

  it('a delta chain dumped at SCHED_FIFO restores the workload with its memory intact', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '32', '--phases', '300:1000000', '--report-ms', '50']);
    const root = await imagesDir('remusd-realtime-');
    const checkpointer = criuCheckpointer({
      criu,
      root,
      pid: workload.pid,
      kind: 'full',
      delta: true,
      pageSize: size,
      realtimePriority: 10,
      log,
    });
    await checkpointer.open();
    const request = { logLevel: 2, extraArgs: [], timeoutMs: 60_000 };
    let parent;
    // The dirtier's count reported just before the newest dump: the restore must resume at least there.
    let beforeNewest = 0;
    for (let seq = 1; seq <= 3; seq++) {
      beforeNewest = (await workload.read()).progress.at(-1)!.writes;
      const result = await checkpointer.take({ ...request, seq, parent });
      expect(result.ok, result.ok ? '' : `${result.reason}\n${result.logTail}`).toBe(true);
      if (!result.ok) return;
      if (seq > 1) expect(result.delta?.parentUsed).toBe(true);
      parent = result.stored;
      await workload.waitForProgress(4);
    }
    // Only CRIU runs at SCHED_FIFO: the parasite runs in the workload's own threads, and the workload must keep
    // its own policy, while it runs on and in the images (a restored workload at SCHED_FIFO would own a CPU).
    expect(await schedulingOf(workload.pid)).toMatch(/scheduling policy: SCHED_OTHER/);
    // The dirtier checks every page after the restore (this check's negative control: test/loop/compaction.test.ts).
    const restored = await restoreAndCheck(criu, join(root, '00000003'), workload);
    expect(restored.corrupt).toEqual([]);
    expect(restored.resumedAt).toBeGreaterThanOrEqual(beforeNewest);
    // CRIU restores with the dumped pid.
    expect(await schedulingOf(workload.pid)).toMatch(/scheduling policy: SCHED_OTHER/);
  }, 120_000);

  it('killed by its timeout in the middle of a dump, leaves the workload running, not stopped', async () => {
    const criu = await testCriu();
    workload = await startWorkload(['--mib', '128', '--phases', '2000:1000000', '--report-ms', '20']);
    const dir = await imagesDir('remusd-realtime-');
    // A 128 MiB dump takes ~100-250 ms here: 40 ms falls inside the freeze.
    const run = await dump(criu, {
      kind: 'full',
      pid: workload.pid,
      imagesDir: dir,
      timeoutMs: 40,
      realtimePriority: 10,
    });
    expect(run.timedOut).toBe(true);
    await expectRunningOn(workload);
  }, 60_000);
});
