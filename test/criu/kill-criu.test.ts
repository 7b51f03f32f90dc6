import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { recoverAfterCriu } from '../../src/criu/recover.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload;
beforeAll(async () => {
  workload = await startWorkload(['--mib', '128', '--phases', '2000:1000000', '--report-ms', '20']);
});
afterAll(() => workload?.stop());

describe("remusd's kill of CRIU in the middle of a dump (a timeout, an abort)", () => {
  // A 128 MiB dump takes ~150-300 ms here: these moments fall in the seize, the parasite's infection, the
  // memory dump and the page writing. A plain SIGKILL at such moments killed the dirtier with SIGTRAP once
  // (CI, session 6, at 80 ms; here 1 kill in 16 at 80 ms): safe-kill.test.ts catches that moment for sure.
  it.each([10, 40, 80, 120, 160, 220])(
    'at %i ms leaves the workload running, not stopped, with its memory intact',
    async (delayMs) => {
      const criu = await testCriu();
      const dir = await imagesDir();
      const cancel = new AbortController();
      const run = dump(criu, { kind: 'full', pid: workload.pid, imagesDir: dir, signal: cancel.signal });
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      cancel.abort();
      const ended = await run;
      // It may have finished first on an idle machine; a kill must have found or reached a safe point.
      if (ended.timedOut) expect(ended.safePoint?.unsafe).toEqual([]);
      const recovery = await recoverAfterCriu(workload.pid, { stoppedBefore: false });
      expect(recovery.now.condition).toBe('running');
      await expectRunningOn(workload, ended.logFile);
    },
  );
});
