import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { dumpArgv } from '../../src/criu/dump.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload;
beforeAll(async () => {
  workload = await startWorkload(['--mib', '128', '--phases', '2000:1000000', '--report-ms', '20']);
});
afterAll(() => workload?.stop());

describe('kill -9 of CRIU in the middle of a dump', () => {
  // A 128 MiB dump takes ~150-250 ms here: these moments fall in the freeze, the parasite's memory
  // dump and the page writing.
  it.each([10, 40, 80, 120, 160, 220])(
    'at %i ms leaves the workload running, not stopped, with its memory intact',
    async (delayMs) => {
      const criu = await testCriu();
      const dir = await imagesDir();
      const argv = dumpArgv({ kind: 'full', pid: workload.pid, imagesDir: dir });
      const log = join(dir, 'criu.log');
      const child = spawn(criu.command, [...argv, '-o', log], { stdio: 'ignore' });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      child.kill('SIGKILL');
      await exited;
      await expectRunningOn(workload, log);
    },
  );
});
