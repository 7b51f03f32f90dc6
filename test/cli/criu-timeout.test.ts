import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

describe('remusd run with a criu.timeout shorter than every dump', () => {
  it(
    'kills CRIU at a safe point, says how the workload was left, and goes on; the workload runs on',
    { timeout: 90_000 },
    async () => {
      // A 128 MiB dump takes 150-300 ms here: 60 ms kills each one in its seize or the parasite's infection.
      workload = await startWorkload(['--mib', '128', '--phases', '2000:1000000', '--report-ms', '20']);
      const root = await imagesDir();
      const config = join(root, 'remusd.yaml');
      await writeFile(
        config,
        'interval: { initial: 200ms, min: 100ms, max: 1s }\ncheckpoint: { mode: full, dir: ./images }\n' +
          'criu: { timeout: 60ms }\nfailures: { max_consecutive: 1000, backoff_initial: 100ms, backoff_max: 200ms }\n',
      );
      // --duration ends it: a dump may still win the race against its kill (the kill stops CRIU's tree first,
      // which took 100-500 ms at load 10 here), so failures in a row are not a given.
      const args = [
        'run',
        '--config',
        config,
        '--pid',
        String(workload.pid),
        '--log-format',
        'json',
        '--duration',
        '8s',
      ];
      const result = await runCli(args, { timeoutMs: 60_000 });
      expect(result.exitCode, result.stderr).toBe(0);
      const logs = result.stderr
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { level: number; msg: string });
      const failures = logs.filter((entry) => /^checkpoint \d+ failed/.test(entry.msg));
      expect(failures.length).toBeGreaterThanOrEqual(2);
      for (const failure of failures) {
        expect(failure.msg).toMatch(/timed out after \d+ ms; its whole tree was killed/);
        expect(failure.msg).toMatch(/at a safe point for the workload/);
        expect(failure.msg).toMatch(new RegExp(`then the workload ${workload.pid} is running`));
      }
      // Nothing said it was left dead, stopped or held (those are errors, level 50).
      expect(logs.filter((entry) => entry.level >= 50 && /left the workload/.test(entry.msg))).toEqual([]);
      await expectRunningOn(workload);
    },
  );
});
