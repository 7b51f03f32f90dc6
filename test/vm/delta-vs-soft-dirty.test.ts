import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { criuLogTail } from '../../src/criu/exec.js';
import { readDumpStatsSync } from '../../src/criu/images/index.js';
import { rewriteAsDelta, type PageHashes } from '../../src/delta/index.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { requireVm } from '../helpers/vm.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

// Issue 5 inside the soft-dirty VM: for the same workload and the same moments, the pages whose content
// changed (remusd's delta) are a subset of the pages the kernel saw written (CRIU's soft-dirty count).
// The workload is stopped (SIGSTOP) while both dumps are taken, so both see exactly the same memory and the
// same interval; then it continues (SIGCONT).
requireVm();
let workload: TestWorkload;
beforeAll(async () => {
  workload = await startWorkload(['--mib', '32', '--phases', '1500:1000000', '--report-ms', '100']);
});
afterAll(() => workload?.stop());

describe('delta (content changes) vs soft-dirty (pages written)', () => {
  it("the delta size never exceeds CRIU's soft-dirty pages_written, link after link", async () => {
    const criu = await testCriu();
    const root = await imagesDir('remusd-vm-delta-');
    let hashes: PageHashes | undefined;
    const rows: string[] = ['link  soft-dirty pages_written  delta changed pages  ratio'];
    for (let i = 0; i < 6; i++) {
      await new Promise((resolve) => setTimeout(resolve, 800));
      process.kill(workload.pid, 'SIGSTOP');
      let tracked;
      let full;
      try {
        tracked = await dump(criu, {
          kind: 'dump',
          pid: workload.pid,
          imagesDir: await subdir(root, `t${i}`),
          parent: i === 0 ? undefined : `../t${i - 1}`,
        });
        full = await dump(criu, { kind: 'full', pid: workload.pid, imagesDir: await subdir(root, `f${i}`) });
      } finally {
        process.kill(workload.pid, 'SIGCONT');
      }
      expect(tracked.exitCode, await criuLogTail(tracked.logFile)).toBe(0);
      expect(full.exitCode, await criuLogTail(full.logFile)).toBe(0);
      const delta = await rewriteAsDelta({
        dir: join(root, `f${i}`),
        name: `f${i}`,
        parentName: i === 0 ? undefined : `f${i - 1}`,
        previous: hashes,
      });
      hashes = delta.hashes;
      if (i === 0) continue;
      const softDirty = readDumpStatsSync(join(root, `t${i}`))!.pages_written;
      rows.push(
        `${String(i).padStart(4)}  ${String(softDirty).padStart(23)}  ${String(delta.changedPages).padStart(19)}  ${(delta.changedPages / softDirty).toFixed(3)}`,
      );
      expect(delta.parentUsed, delta.reason).toBe(true);
      expect(delta.changedPages).toBeGreaterThan(0.5 * 1500 * 0.8); // the workload did write (≥ half of 0.8 s × rate)
      expect(delta.changedPages).toBeLessThanOrEqual(softDirty);
    }
    console.log(rows.join('\n'));
  });
});

async function subdir(root: string, name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  return dir;
}
