import { describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import type { CriuRun } from '../../src/criu/exec.js';
import { recoverAfterCriu } from '../../src/criu/recover.js';
import { unsafeToKillCriu } from '../../src/process/criu-safe-point.js';
import { snapshotProcess } from '../../src/process/leftovers-snapshot.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { signalTracerInInjectedSyscall } from '../helpers/injected-syscall.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

// The moment that killed the dirtier in CI (session 6) and here (1 of 16 kills at 80 ms into a 128 MiB dump):
// CRIU has the workload run a syscall it injected (code poked over the first executable mapping, ending in an
// int3). A CRIU that dies then leaves the workload a SIGTRAP with nobody to catch it. Both tests stop CRIU at
// exactly that moment (SIGSTOP from a /proc watcher) and check that the workload is there; then one kills CRIU
// as anyone could, the other as remusd does on a timeout.

interface Caught {
  workload: TestWorkload;
  criuPid: number;
  cancel: AbortController;
  run: Promise<CriuRun>;
}

// Starts dumps of fresh dirtiers until one is caught in an injected syscall with CRIU stopped there. The
// watcher caught 8 of 10 dumps here; 12 attempts make a miss in all of them negligible.
async function catchCriuInInjectedSyscall(): Promise<Caught> {
  const criu = await testCriu();
  const misses: string[] = [];
  for (let attempt = 0; attempt < 12; attempt++) {
    const workload = await startWorkload(['--mib', '16', '--phases', '2000:1000000', '--report-ms', '20']);
    const cancel = new AbortController();
    const dir = await imagesDir('remusd-safe-kill-');
    const run = dump(criu, { kind: 'full', pid: workload.pid, imagesDir: dir, signal: cancel.signal });
    const criuPid = await signalTracerInInjectedSyscall(workload.pid, 'SIGSTOP');
    // Stopped, CRIU holds the workload where it was: the snapshot must show the danger, or the stop came late.
    const unsafe = criuPid === undefined ? [] : unsafeToKillCriu(await snapshotProcess(workload.pid));
    if (criuPid !== undefined && unsafe.length > 0) return { workload, criuPid, cancel, run };
    misses.push(criuPid === undefined ? 'no moment seen' : 'moved on before the stop');
    if (criuPid !== undefined) process.kill(criuPid, 'SIGCONT');
    await run;
    await workload.stop();
  }
  throw new Error(`CRIU was never caught in an injected syscall in 12 dumps: ${misses.join(', ')}`);
}

describe('CRIU killed while the workload runs a syscall CRIU injected', () => {
  it('a plain SIGKILL then kills the workload with SIGTRAP, and the recovery says it is dead (negative control)', async () => {
    const { workload, criuPid, run } = await catchCriuInInjectedSyscall();
    try {
      process.kill(criuPid, 'SIGKILL');
      expect((await run).signal).toBe('SIGKILL');
      const ended = await waitFor('the dirtier to end', () => workload.ended(), 10_000, 20);
      expect(ended.signal).toBe('SIGTRAP');
      const recovery = await recoverAfterCriu(workload.pid, { stoppedBefore: false });
      expect(recovery.now.condition).toBe('dead');
    } finally {
      await workload.stop();
    }
  });

  it("remusd's kill (a timeout, an abort) lets CRIU move to a safe point first: the workload runs on, intact", async () => {
    const { workload, cancel, run } = await catchCriuInInjectedSyscall();
    try {
      cancel.abort();
      const ended = await run;
      expect(ended.timedOut).toBe(true);
      expect(ended.safePoint?.firstLook.join(' ')).toMatch(/in a syscall CRIU injected/);
      expect(ended.safePoint?.unsafe).toEqual([]);
      const recovery = await recoverAfterCriu(workload.pid, { stoppedBefore: false });
      expect(recovery.now.condition).toBe('running');
      await expectRunningOn(workload);
      expect(workload.ended()).toBeUndefined();
    } finally {
      await workload.stop();
    }
  });
});
