// Software deltas against REAL CRIU 4.1.1 on this machine: full `dump --leave-running` checkpoints of the bundled
// dirtier, each rewritten as a delta of the previous one, then `criu restore` of a later link of the chain.
import { existsSync } from 'node:fs';
import { cp, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { criuLogTail } from '../../src/criu/exec.js';
import {
  PE_PARENT,
  PE_PRESENT,
  encodePagemap,
  readPagemapFile,
  readStatsDir,
  type PagemapEntry,
} from '../../src/criu/images/index.js';
import type { CriuLocation } from '../../src/criu/locate.js';
import { restore } from '../../src/criu/restore.js';
import { rewriteAsDelta, type PageHashes, type RewriteResult } from '../../src/delta/index.js';
import { isAlive } from '../../src/process/proc.js';
import { startSessionLeader } from '../../src/process/session-leader.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { readWorkloadOutput } from '../../src/workload/progress.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { waitFor } from '../helpers/wait.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';
import { bufferGeneration, presentPagesOf, writesAtDump } from './dirtier-images.js';

const PAGE = 4096;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

// A started dirtier that afterEach stops.
async function dirtier(args: string[]): Promise<TestWorkload> {
  const workload = await startWorkload(args);
  cleanups.push(() => workload.stop());
  return workload;
}

// A fresh images root that afterEach removes.
async function imagesRoot(): Promise<string> {
  const root = await imagesDir('remusd-delta-');
  cleanups.push(() => rm(root, { recursive: true, force: true }));
  return root;
}

interface Link {
  name: string;
  dir: string;
  /** performance.now() when `criu dump` was started. */
  startedMs: number;
  result: RewriteResult;
  /** The dirtier's writes at the freeze, read from the full dump's buffer pages before the rewrite. */
  writes: number;
}

// One checkpoint as the loop takes it in delta mode: full dump into root/.NAME.partial, rewrite there, rename.
async function checkpoint(
  criu: CriuLocation,
  root: string,
  name: string,
  pid: number,
  previous: { name: string; hashes: PageHashes } | undefined,
  bufferPages?: number,
): Promise<Link> {
  const partial = join(root, `.${name}.partial`);
  await mkdir(partial);
  const startedMs = performance.now();
  const run = await dump(criu, { kind: 'full', pid, imagesDir: partial });
  expect(run.exitCode, await criuLogTail(run.logFile)).toBe(0);
  const writes = bufferPages === undefined ? Number.NaN : (await writesAtDump(partial, pid, bufferPages)).writes;
  const result = await rewriteAsDelta({ dir: partial, name, parentName: previous?.name, previous: previous?.hashes });
  const dir = join(root, name);
  await rename(partial, dir);
  return { name, dir, startedMs, result, writes };
}

// Waits until no process has this pid (a restore needs the pid free; a zombie still holds it).
async function waitPidFree(pid: number): Promise<void> {
  await waitFor(`pid ${pid} to be free`, () => (existsSync(`/proc/${pid}`) ? undefined : true), 5_000);
}

describe('real CRIU: software deltas of the dirtier', () => {
  it('each delta holds the pages written since the previous dump, and restore of link 6 continues the workload intact', async () => {
    const criu = await testCriu();
    const rate = 500;
    const bufferPages = (64 * 1024 * 1024) / PAGE;
    const workload = await dirtier(['--mib', '64', '--phases', `${rate}:1000000`, '--report-ms', '50']);
    const root = await imagesRoot();

    const links: Link[] = [];
    let lastProgressBeforeDump = 0;
    for (let k = 1; k <= 6; k++) {
      if (k > 1) await sleep(Math.max(0, links.at(-1)!.startedMs + 750 - performance.now()));
      lastProgressBeforeDump = (await workload.read()).progress.at(-1)!.writes;
      const previous = links.at(-1);
      links.push(
        await checkpoint(
          criu,
          root,
          String(k).padStart(8, '0'),
          workload.pid,
          previous && { name: previous.name, hashes: previous.result.hashes },
          bufferPages,
        ),
      );
    }

    const table: string[] = [];
    for (const [k, link] of links.entries()) {
      const { result } = link;
      expect(result.processes.map((p) => p.pid)).toEqual([workload.pid]);
      expect(result.totalPages).toBeGreaterThan(bufferPages); // the whole buffer plus the runtime's pages
      expect(result.shmem.pagemaps).toBe(0);
      expect((await stat(join(link.dir, `pages-1.img`))).size).toBe(result.changedPages * PAGE);
      if (k === 0) {
        expect(result).toMatchObject({ parentUsed: false, reason: 'no parent requested (new chain)' });
        continue;
      }
      const previous = links[k - 1]!;
      const elapsedS = (link.startedMs - previous.startedMs) / 1000;
      const expected = rate * elapsedS;
      const written = link.writes - previous.writes;
      table.push(
        `link ${k + 1}: ${elapsedS.toFixed(3)} s after link ${k}: rate×elapsed ${expected.toFixed(0)}, buffer pages written ${written}, ` +
          `changedPages ${result.changedPages} of ${result.totalPages}, rewrite ${result.elapsedMs.toFixed(0)} ms, ${result.reason}`,
      );
      expect(result.parentUsed, result.reason).toBe(true);
      expect(existsSync(join(link.dir, 'parent', 'inventory.img'))).toBe(true); // ../<previous>, resolving after the rename
      // Exact part: every buffer page written since the previous freeze is in the delta, and apart from them only
      // the few pages the runtime itself touches (stack, libc and dirtier globals): at most 16.
      expect(result.changedPages).toBeGreaterThanOrEqual(written);
      expect(result.changedPages - written).toBeLessThanOrEqual(16);
      // Against wall time: rate × (time between the two dumps' starts), within 16 pages + 5 % + rate × 0.5 s.
      // The dirtier catches up after a freeze, so what a delta holds follows the time between the FREEZES, and
      // CRIU's start-up before the freeze varies: by a few ms idle, by 244 ms (122 pages) in CI at load 10. The
      // exact check above already ties the delta to what the dirtier did write; this one catches a delta that
      // is empty or a full dump in disguise.
      expect(Math.abs(result.changedPages - expected)).toBeLessThanOrEqual(16 + 0.05 * expected + rate * 0.5);
      // Most of the buffer is unchanged, so the delta is not a full dump in disguise. Relative to the link's own
      // spacing, not a fixed share: at the intended 750 ms a link holds ~2 % of the pages, but at load average 17
      // the links were 2.8-3.9 s apart and held up to 2,001 of 16,410 pages (12 %), with both bounds above holding.
      expect(result.changedPages).toBeLessThan(((result.totalPages / 20) * Math.max(elapsedS, 0.75)) / 0.75);
    }
    console.log(table.join('\n'));

    // Restore the newest link (6: five parents deep) after killing the workload.
    const target = links.at(-1)!;
    const pid = workload.pid;
    await killAndWait(pid);
    await waitPidFree(pid);
    const linesBefore = (await workload.read()).progress.length;
    const restored = await restore(criu, { imagesDir: target.dir });
    expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
    expect(await isAlive(pid)).toBe(true);
    const output = await workload.waitForProgress(4);
    expect(output.corrupt).toEqual([]);
    const after = output.progress.slice(linesBefore);
    expect(after[0]!.writes).toBeGreaterThanOrEqual(lastProgressBeforeDump);
    expect(after[0]!.writes).toBeGreaterThanOrEqual(target.writes);
    expect(after.at(-1)!.writes).toBeGreaterThan(after[0]!.writes);
    const { restore: restoreStats } = await readStatsDir(target.dir);
    console.log(
      `restore of ${target.name}: ${JSON.stringify(restoreStats)}; first writes after restore ${after[0]!.writes}, at dump ${target.writes}`,
    );
  });

  it('negative control: a delta that marks changed pages as unchanged restores a CORRUPT workload', async () => {
    const criu = await testCriu();
    const bufferPages = (16 * 1024 * 1024) / PAGE;
    const workload = await dirtier(['--mib', '16', '--phases', '2000:1000000', '--report-ms', '50']);
    const root = await imagesRoot();
    const a = await checkpoint(criu, root, '00000001', workload.pid, undefined);
    await sleep(500);
    const b = await checkpoint(criu, root, '00000002', workload.pid, { name: a.name, hashes: a.result.hashes });
    expect(b.result.parentUsed, b.result.reason).toBe(true);

    // The wrong delta: a copy of b in which every changed buffer page is marked PE_PARENT (taken from a, stale).
    const wrong = join(root, '00000003');
    await cp(b.dir, wrong, { recursive: true, verbatimSymlinks: true });
    const staled = await markBufferPagesAsParent(wrong, workload.pid, bufferPages);
    expect(staled).toBeGreaterThan(100);

    const pid = workload.pid;
    await killAndWait(pid);
    await waitPidFree(pid);
    const linesBefore = (await workload.read()).progress.length;
    const bad = await restore(criu, { imagesDir: wrong });
    if (bad.exitCode === 0) {
      // CRIU restores it (the chain is well-formed); the workload's own check catches the stale pages.
      const deadline = Date.now() + 10_000;
      while ((await workload.read()).corrupt.length === 0 && Date.now() < deadline) await sleep(50);
      expect((await workload.read()).corrupt.length).toBeGreaterThan(0);
      await waitPidFree(pid); // it exits 3 after reporting CORRUPT
    }
    const corruptLines = (await workload.read()).corrupt.length;
    console.log(
      `wrong delta (${staled} changed pages marked PE_PARENT): restore exit ${bad.exitCode}, output: ${(await workload.read()).corrupt.join(' | ')}`,
    );

    // The same pair with the correct delta restores fine: the difference is the delta alone.
    const good = await restore(criu, { imagesDir: b.dir });
    expect(good.exitCode, await criuLogTail(good.logFile)).toBe(0);
    const output = await workload.waitForProgress(3);
    expect(output.corrupt.length).toBe(corruptLines);
    expect(output.progress.length).toBeGreaterThan(linesBefore);
  });

  it('a dump of another process never becomes a delta of this one', async () => {
    const criu = await testCriu();
    const first = await dirtier(['--mib', '8', '--phases', '100:1000000']);
    const second = await dirtier(['--mib', '8', '--phases', '100:1000000']);
    const root = await imagesRoot();
    const a = await checkpoint(criu, root, '00000001', first.pid, undefined);
    const b = await checkpoint(criu, root, '00000002', second.pid, { name: a.name, hashes: a.result.hashes });
    expect(b.result).toMatchObject({
      parentUsed: false,
      reason: `different pids: [${first.pid}] in 00000001, [${second.pid}] now`,
    });
    expect(existsSync(join(b.dir, 'parent'))).toBe(false);
    // The second dump still serves as the parent of the second process's next checkpoint.
    const c = await checkpoint(criu, root, '00000003', second.pid, { name: b.name, hashes: b.result.hashes });
    expect(c.result.parentUsed, c.result.reason).toBe(true);
  });

  it('a process tree (sh and two dirtiers): one pagemap per pid, each a delta, and the chain restores the tree', async () => {
    const criu = await testCriu();
    const binary = await ensureDirtierBinary();
    const root = await imagesRoot();
    const outputPath = join(root, 'tree.out');
    const args = '--mib 16 --phases 1000:1000000 --report-ms 50';
    const leader = startSessionLeader('/bin/sh', ['-c', `${binary} ${args} & ${binary} ${args} & wait`], outputPath);
    cleanups.push(async () => {
      try {
        process.kill(-leader.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    });
    const children = await waitFor(
      'both dirtiers to start',
      async () => {
        const pids = (await readWorkloadOutput(outputPath)).starts.map((s) => s.pid);
        return pids.length >= 2 ? pids : undefined;
      },
      5_000,
      25,
    );
    expect(children).toHaveLength(2);
    await sleep(300);

    const links: Link[] = [];
    for (let k = 1; k <= 4; k++) {
      if (k > 1) await sleep(500);
      const previous = links.at(-1);
      links.push(
        await checkpoint(
          criu,
          root,
          String(k).padStart(8, '0'),
          leader.pid,
          previous && { name: previous.name, hashes: previous.result.hashes },
        ),
      );
    }
    const pids = [leader.pid, ...children].sort((x, y) => x - y);
    for (const link of links.slice(1)) {
      expect(link.result.parentUsed, link.result.reason).toBe(true);
      expect(link.result.processes.map((p) => p.pid)).toEqual(pids);
      const byPid = new Map(link.result.processes.map((p) => [p.pid, p]));
      expect(byPid.get(leader.pid)!.changedPages).toBeLessThanOrEqual(16); // sh only waits
      for (const child of children) expect(byPid.get(child)!.changedPages).toBeGreaterThan(200); // ~500 pages per 0.5 s
    }
    console.log(
      links
        .map(
          (l) => `${l.name}: ${l.result.processes.map((p) => `${p.pid}:${p.changedPages}/${p.totalPages}`).join(' ')}`,
        )
        .join('\n'),
    );

    process.kill(-leader.pid, 'SIGKILL');
    for (const pid of pids) await waitPidFree(pid);
    const before = (await readWorkloadOutput(outputPath)).progress.length;
    const restored = await restore(criu, { imagesDir: links.at(-1)!.dir });
    expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
    for (const pid of pids) expect(await isAlive(pid)).toBe(true);
    await sleep(1000);
    const output = await readWorkloadOutput(outputPath);
    expect(output.corrupt).toEqual([]);
    expect(output.progress.length - before).toBeGreaterThanOrEqual(10); // both children report every 50 ms
  });
});

// Rewrites dir's delta so that every PRESENT page that is one of the dirtier's buffer pages becomes PE_PARENT
// (its stale version is in the parent): a deliberately wrong delta. Returns how many pages it marked.
async function markBufferPagesAsParent(dir: string, pid: number, bufferPages: number): Promise<number> {
  const path = join(dir, `pagemap-${pid}.img`);
  const pagemap = await readPagemapFile(path);
  const present = await presentPagesOf(dir, pid);
  const stale = new Set(
    present.filter((p) => bufferGeneration(p.bytes, bufferPages) !== undefined).map((p) => p.vaddr),
  );
  const entries: PagemapEntry[] = [];
  const kept: Buffer[] = [];
  let slot = 0;
  for (const e of pagemap.entries) {
    if ((e.flags & PE_PRESENT) === 0) {
      entries.push(e);
      continue;
    }
    for (let i = 0; i < e.nrPages; i++, slot++) {
      const vaddr = e.vaddr + i * PAGE;
      if (stale.has(vaddr)) {
        entries.push({ vaddr, nrPages: 1, flags: PE_PARENT });
      } else {
        entries.push({ vaddr, nrPages: 1, flags: e.flags });
        kept.push(present[slot]!.bytes);
      }
    }
  }
  await writeFile(join(dir, `pages-${pagemap.pagesId}.img`), Buffer.concat(kept));
  await writeFile(path, encodePagemap({ pagesId: pagemap.pagesId, entries }));
  return stale.size;
}
