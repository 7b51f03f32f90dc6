// Issue 11's frozen-time spike after a chain start (real CRIU, mode delta): a chain start keeps CRIU's full
// dump, and while that image sat in the page cache the next dump's image had to come out of memory the VM
// had handed back to its host, with the workload frozen. The checkpointer now flushes a chain start's image
// and drops it from the page cache right after the rewrite. Checked here on what the fix does (the image is
// no longer resident); the frozen times themselves, before and after, are in `npm run bench chain-start`.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pageSize } from '../../src/criu/probe.js';
import { criuCheckpointer } from '../../src/loop/criu-checkpointer.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { residentPages } from '../helpers/page-cache.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

const log = { info: () => undefined, warn: (message: string) => console.warn(message) };

describe('a delta chain start', () => {
  it.each([
    [true, 'is flushed and dropped from the page cache, while the delta after it stays cached'],
    [false, 'stays in the page cache without the fix (the control)'],
  ])(
    'drop %s: %s',
    async (drop) => {
      const criu = await testCriu();
      const size = await pageSize();
      workload = await startWorkload(['--mib', '16', '--phases', '500:1000000']);
      const root = await imagesDir('remusd-chain-cache-');
      const checkpointer = criuCheckpointer({
        criu,
        root,
        pid: workload.pid,
        kind: 'full',
        delta: true,
        pageSize: size,
        dropChainStartCache: drop,
        log,
      });
      await checkpointer.open();
      const request = { logLevel: 2, extraArgs: [], timeoutMs: 60_000 };
      const first = await checkpointer.take({ ...request, seq: 1, parent: undefined });
      expect(first.ok, first.ok ? '' : first.reason).toBe(true);
      if (!first.ok) return;
      const second = await checkpointer.take({ ...request, seq: 2, parent: first.stored });
      expect(second.ok && second.delta?.parentUsed).toBe(true);
      const pages = (dir: string) =>
        readdirSync(dir)
          .filter((n) => /^pages-\d+\.img$/.test(n))
          .map((n) => residentPages(join(dir, n)))
          .reduce((a, b) => a + b, 0);
      const chainStart = pages(join(root, '00000001'));
      // The chain start holds the whole 16 MiB (4096 pages and a few more).
      expect(first.delta?.changedPages).toBeGreaterThanOrEqual(4096);
      if (drop) expect(chainStart).toBe(0);
      else expect(chainStart).toBeGreaterThanOrEqual(4096);
      // The delta after it is small and written through the cache as before.
      expect(pages(join(root, '00000002'))).toBeGreaterThan(0);
    },
    120_000,
  );
});
