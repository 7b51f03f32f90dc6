import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import type { CriuRun } from '../../src/criu/exec.js';
import { recoverAfterCriu } from '../../src/criu/recover.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { catchCriuInInjectedSyscall, type Caught } from '../helpers/injected-syscall.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { sleep, waitFor } from '../helpers/wait.js';

// The moment that killed the dirtier in CI (session 6) and here (1 of 16 kills at 80 ms into a 128 MiB dump):
// CRIU has the workload run a syscall it injected (code poked over the first executable mapping, ending in an
// int3). A CRIU that dies then leaves the workload a SIGTRAP with nobody to catch it. Both tests stop CRIU at
// exactly that moment (SIGSTOP from a /proc watcher) and check that the workload is there; then one kills CRIU
// as anyone could, the other as remusd does on a timeout.

// Dumps of fresh dirtiers, each abortable as remusd aborts one.
async function catchDump(): Promise<Caught<CriuRun> & { cancel: AbortController }> {
  const criu = await testCriu();
  const cancel = new AbortController();
  const caught = await catchCriuInInjectedSyscall(async (pid) =>
    dump(criu, { kind: 'full', pid, imagesDir: await imagesDir('remusd-safe-kill-'), signal: cancel.signal }),
  );
  return { ...caught, cancel };
}

describe('CRIU killed while the workload runs a syscall CRIU injected', () => {
  it('a plain SIGKILL then kills the workload with SIGTRAP, and the recovery says it is dead (negative control)', async () => {
    const { workload, criuPid, dumping: run } = await catchDump();
    try {
      process.kill(criuPid, 'SIGKILL');
      expect((await run).signal).toBe('SIGKILL');
      const ended = await waitFor('the dirtier to end', () => workload.ended(), 10_000, 20).catch(() => undefined);
      if (ended !== undefined) {
        expect(ended.signal).toBe('SIGTRAP');
        const recovery = await recoverAfterCriu(workload.pid, { stoppedBefore: false });
        expect(recovery.now.condition).toBe('dead');
      } else {
        // The other harm (once in CI, session 12): alive but stuck where the dead CRIU left it, never running
        // on. What must not happen is what remusd's kill gives: the workload making progress.
        const state = readFileSync(`/proc/${workload.pid}/status`, 'utf8').match(/^State:.*$/m)?.[0];
        const before = (await workload.read()).progress.length;
        await sleep(2000);
        const after = (await workload.read()).progress.length;
        console.log(`plain SIGKILL: the dirtier did not end in 10 s; ${state}; progress lines ${before} -> ${after}`);
        expect(after, `progress lines in 2 s (${state})`).toBe(before);
      }
    } finally {
      await workload.stop();
    }
  });

  it("remusd's kill (a timeout, an abort) lets CRIU move to a safe point first: the workload runs on, intact", async () => {
    const { workload, cancel, dumping: run } = await catchDump();
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
