import { existsSync } from 'node:fs';
import { readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodePagemap, PE_PARENT, readImageBytes } from '../../src/criu/images/index.js';
import { pageSize } from '../../src/criu/probe.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { readJsonLines } from '../helpers/records.js';
import { restoreAndCheck } from '../helpers/restore-check.js';
import { superviseFor, testSettings } from '../helpers/supervise.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

// Compaction on real CRIU (mode delta): old links of a running chain flattened into a base in the background,
// and what a compaction killed half-way leaves. The workload is the bundled dirtier, which checks every page
// of its memory against its own running sum after a restore: a stale or foreign page is reported CORRUPT.

const MiB = 2 ** 20;
let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

/** The chain ending at `name` on disk, newest first, by its parent links. */
async function chainOnDisk(root: string, name: string): Promise<string[]> {
  const chain = [name];
  for (;;) {
    const target = await readlink(join(root, chain.at(-1)!, 'parent')).catch(() => undefined);
    if (target === undefined) return chain;
    chain.push(target.replace('../', ''));
  }
}

/** Whether any pagemap of a checkpoint keeps pages in a parent. */
async function usesParent(dir: string): Promise<boolean> {
  for (const name of (await readdir(dir)).filter((n) => /^pagemap-\d+\.img$/.test(n))) {
    const pagemap = decodePagemap(await readImageBytes(join(dir, name)), name);
    if (pagemap.entries.some((e) => (e.flags & PE_PARENT) !== 0)) return true;
  }
  return false;
}

// 800 ms between checkpoints: compaction runs only while the loop sleeps, and on this shared 2-core machine
// a 64 MiB dump plus its rewrite took up to ~1 s; the interval leaves the merge room to finish.
const SETTINGS = testSettings(
  { lminBytes: 1, lmaxBytes: 1024 * MiB, minMs: 800, maxMs: 800 },
  { retention: { keep: 1000, newChainEvery: 1000, maxChainBytes: undefined, compact: true, compactAt: 5 } },
);

describe('compaction on the primary (real CRIU, mode delta)', () => {
  it('flattens old links while the workload runs; the short chain restores it; a stale base is caught', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    // 200 pages/s over 8192: most pages a restore reads come from the flattened base (the negative control needs that).
    workload = await startWorkload(['--mib', '32', '--phases', '200:1000000', '--report-ms', '50']);
    const root = await imagesDir();
    const { records } = await superviseFor({
      criu,
      pid: workload.pid,
      root,
      count: 12,
      initialIntervalMs: 800,
      pageSize: size,
      mode: 'delta',
      settings: () => SETTINGS,
    });

    const compactions = records.flatMap((r) => (r.compacted === undefined ? [] : [r.compacted]));
    console.log('compactions:', compactions);
    expect(compactions.length).toBeGreaterThanOrEqual(1);
    // No chain restarted: after the first, every checkpoint is a delta (what is stored and would be shipped).
    expect(records.slice(1).every((r) => !r.chain_start && r.parent !== null)).toBe(true);
    const fullBytes = records[0]!.size_bytes;
    expect(records.slice(1).every((r) => r.size_bytes < fullBytes / 2)).toBe(true);
    // Each compaction wrote the whole memory once (locally): the flattened base is full-size.
    for (const c of compactions) expect(c.bytes_written).toBeGreaterThan(fullBytes * 0.9);

    // The newest checkpoint's chain now ends at a flattened link, far shorter than the 12 links it would have.
    const newest = records.at(-1)!;
    const chain = await chainOnDisk(root, `${String(newest.seq).padStart(8, '0')}`);
    const base = chain.at(-1)!;
    console.log(`chain of ${newest.seq}: ${chain.join(' ← ')}`);
    expect(chain.length).toBeLessThan(records.length);
    // (The newest compaction may have finished after the last record, which would have named it.)
    expect(base).not.toBe('00000001');
    expect(await usesParent(join(root, base))).toBe(false);
    expect(existsSync(join(root, base, 'parent'))).toBe(false);

    const reportedBefore = (await workload.read()).progress.filter((p) => p.realMs < Date.parse(newest.start)).at(-1)!;
    const good = await restoreAndCheck(criu, newest.dir, workload);
    expect(good.corrupt).toEqual([]);
    expect(good.resumedAt).toBeGreaterThanOrEqual(reportedBefore.writes);

    // Negative control: the flattened base with the pages of the chain's ORIGINAL base (checkpoint 1, kept)
    // put back over its own, same size: the restore succeeds as far as CRIU can tell, and the dirtier
    // finds the stale pages. So the check above can fail.
    const basePages = (await readdir(join(root, base))).find((n) => /^pages-\d+\.img$/.test(n))!;
    const flat = await readFile(join(root, base, basePages));
    const original = await readFile(join(root, '00000001', basePages));
    original.copy(flat, 0, 0, Math.min(original.length, flat.length));
    await writeFile(join(root, base, basePages), flat);
    const bad = await restoreAndCheck(criu, newest.dir, workload);
    expect(bad.corrupt.length).toBeGreaterThan(0);
  }, 180_000);

  it.each(['merging', 'swapped'] as const)(
    'a compaction killed while %s leaves a chain that restores, cleaned up by the next start',
    async (point) => {
      const criu = await testCriu();
      workload = await startWorkload(['--mib', '32', '--phases', '2000:1000000', '--report-ms', '50']);
      const root = await imagesDir();
      const config = join(root, 'remusd.yaml');
      await writeFile(
        config,
        'interval: { initial: 800ms, min: 800ms, max: 800ms }\npolicy: { kind: fixed }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 1000, new_chain_every: 1000, compact_at: 5 } }\n',
      );
      // The hook makes remusd SIGKILL itself at that point of its first compaction (after checkpoint 5).
      const killed = await runCli(
        ['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '30'],
        {
          env: { REMUSD_TEST_COMPACTION_KILL: point },
          timeoutMs: 120_000,
        },
      );
      expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
      const images = join(root, 'images');
      const records = await readJsonLines<CheckpointRecord>(join(images, 'records.jsonl'));
      const target = '00000003'; // COMPACTION_LAG (2) links behind checkpoint 5
      const leftovers = (await readdir(images)).filter((n) => n.endsWith('.compact'));
      expect(leftovers).toEqual([`.${target}.compact`]);
      // Killed while merging: the link is untouched. Killed after the swap: it is the flattened one already.
      expect(existsSync(join(images, target, 'parent'))).toBe(point === 'merging');
      const newest = records.at(-1)!;
      expect((await chainOnDisk(images, String(newest.seq).padStart(8, '0'))).at(-1)).toBe(
        point === 'merging' ? '00000001' : target,
      );

      const result = await restoreAndCheck(criu, join(images, 'latest'), workload);
      expect(result.corrupt).toEqual([]);

      // The restored workload has the same pid: a new supervisor removes the leftover and continues the chain.
      const again = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '1'], {
        timeoutMs: 60_000,
      });
      expect(again.exitCode, again.stderr.slice(-2000)).toBe(0);
      expect((await readdir(images)).filter((n) => n.endsWith('.compact'))).toEqual([]);
      const next = (await readJsonLines<CheckpointRecord>(join(images, 'records.jsonl'))).at(-1)!;
      expect(next.parent).toBe(String(newest.seq).padStart(8, '0'));
    },
    240_000,
  );
});
