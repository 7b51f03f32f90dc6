// rewriteAsDelta on synthetic image sets: which runs become PE_PARENT, what stays in the pages image, and
// that the chain restores (through a model of CRIU's parent page reads) to exactly the new full dump.
import { mkdtemp, readFile, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError, PE_LAZY, PE_PARENT, PE_PRESENT } from '../../src/criu/images/index.js';
import { rewriteAsDelta, type RewriteResult } from '../../src/delta/index.js';
import {
  PAGE,
  entriesOf,
  leftoverTemps,
  memoryOf,
  pageOf,
  restoredMemory,
  writeDump,
  type SynthEntry,
  type SynthProcess,
} from './synthetic.js';

const BASE = 0x7f12_3400_0000;
const ANON = PE_PRESENT | PE_LAZY; // what CRIU 4.1.1 writes for anonymous private memory
const FILE = PE_PRESENT; // private file mappings, vdso, stack

let root = '';
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'remusd-delta-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

// A PRESENT entry of consecutive pages with the given content seeds.
function run(page: number, seeds: number[], flags = ANON): SynthEntry {
  return { vaddr: BASE + page * PAGE, flags, seeds };
}

// Seeds first..first+n-1.
function seq(first: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => first + i);
}

// Writes a dump named `name` under root and rewrites it against the previous result (a chain step).
async function step(
  name: string,
  processes: SynthProcess[],
  previous?: { name: string; result: RewriteResult },
  chunkBytes?: number,
): Promise<RewriteResult> {
  await writeDump(join(root, name), processes);
  return rewriteAsDelta({
    dir: join(root, name),
    name,
    parentName: previous?.name,
    previous: previous?.result.hashes,
    chunkBytes,
  });
}

// Checks that restoring `name` gives each process exactly its full dump's pages.
async function expectRestoresTo(name: string, processes: SynthProcess[]): Promise<void> {
  for (const proc of processes) {
    const restored = await restoredMemory(join(root, name), proc.pid);
    const want = memoryOf(proc);
    expect([...restored.keys()]).toEqual([...want.keys()]);
    for (const [vaddr, page] of want)
      expect(restored.get(vaddr)!.equals(page), `page ${vaddr.toString(16)}`).toBe(true);
  }
}

describe('rewriteAsDelta without a usable parent', () => {
  it('hashes every PRESENT page and leaves the dump byte for byte as CRIU wrote it', async () => {
    const procs = [{ pid: 10, pagesId: 1, entries: [run(0, seq(1, 5)), run(9, seq(50, 2), FILE)] }];
    await writeDump(join(root, 'a'), procs);
    const before = await Promise.all(['pagemap-10.img', 'pages-1.img'].map((f) => readFile(join(root, 'a', f))));
    const result = await rewriteAsDelta({
      dir: join(root, 'a'),
      name: 'a',
      parentName: undefined,
      previous: undefined,
    });
    expect(result).toMatchObject({
      parentUsed: false,
      totalPages: 7,
      changedPages: 7,
      reason: 'no parent requested (new chain)',
    });
    expect(result.hashes.totalPages).toBe(7);
    expect(result.hashes.pids).toEqual([10]);
    const after = await Promise.all(['pagemap-10.img', 'pages-1.img'].map((f) => readFile(join(root, 'a', f))));
    expect(after.map((b, i) => b.equals(before[i]!))).toEqual([true, true]);
    expect(await readdir(join(root, 'a'))).not.toContain('parent');

    const noState = await rewriteAsDelta({ dir: join(root, 'a'), name: 'a2', parentName: 'a', previous: undefined });
    expect(noState).toMatchObject({ parentUsed: false, reason: 'no previous state' });
  });
});

describe('rewriteAsDelta with a parent', () => {
  it('keeps only changed pages, first, middle and last of a run, and restores to the new dump', async () => {
    const a = await step('a', [{ pid: 10, pagesId: 1, entries: [run(0, seq(1, 10))] }]);
    const newSeeds = seq(1, 10);
    newSeeds[0] = 100;
    newSeeds[5] = 105;
    newSeeds[9] = 109;
    const procs = [{ pid: 10, pagesId: 1, entries: [run(0, newSeeds)] }];
    const b = await step('b', procs, { name: 'a', result: a });
    expect(b).toMatchObject({ parentUsed: true, totalPages: 10, changedPages: 3, pagesBytesAfter: 3 * PAGE });
    expect(b.reason).toBe('parent a: 7 of 10 pages unchanged');
    expect(await entriesOf(join(root, 'b'), 10)).toEqual([
      [BASE, 1, ANON],
      [BASE + PAGE, 4, PE_PARENT],
      [BASE + 5 * PAGE, 1, ANON],
      [BASE + 6 * PAGE, 3, PE_PARENT],
      [BASE + 9 * PAGE, 1, ANON],
    ]);
    const pages = await readFile(join(root, 'b', 'pages-1.img'));
    expect(pages.equals(Buffer.concat([pageOf(100), pageOf(105), pageOf(109)]))).toBe(true);
    expect(await readlink(join(root, 'b', 'parent'))).toBe('../a');
    await expectRestoresTo('b', procs);
    expect(await leftoverTemps(join(root, 'b'))).toEqual([]);
  });

  it('merges runs across CRIU entry boundaries and never across a gap', async () => {
    // CRIU splits a big mapping into entries (256 pages each here); 8+8 contiguous, then a gap, then 4.
    const old = [run(0, seq(1, 8)), run(8, seq(9, 8)), run(20, seq(30, 4))];
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: old }]);
    const procs = [
      { pid: 1, pagesId: 1, entries: [run(0, seq(1, 8)), run(8, [...seq(9, 7), 99]), run(20, seq(30, 4))] },
    ];
    const b = await step('b', procs, { name: 'a', result: a });
    expect(b.changedPages).toBe(1);
    expect(await entriesOf(join(root, 'b'), 1)).toEqual([
      [BASE, 15, PE_PARENT],
      [BASE + 15 * PAGE, 1, ANON],
      [BASE + 20 * PAGE, 4, PE_PARENT],
    ]);
    await expectRestoresTo('b', procs);

    // Changed pages of two contiguous entries with the same flags form one PRESENT entry.
    const c = await step(
      'c',
      [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 6)), run(6, [200, 201, ...seq(9, 8)]), run(20, seq(30, 4))] }],
      { name: 'b', result: b },
    );
    expect(c.changedPages).toBe(3);
    expect(await entriesOf(join(root, 'c'), 1)).toEqual([
      [BASE, 6, PE_PARENT],
      [BASE + 6 * PAGE, 2, ANON],
      [BASE + 8 * PAGE, 7, PE_PARENT],
      [BASE + 15 * PAGE, 1, ANON],
      [BASE + 20 * PAGE, 4, PE_PARENT],
    ]);
  });

  it('treats pages of new mappings, moved content and removed mappings correctly', async () => {
    const a = await step('a', [
      { pid: 1, pagesId: 1, entries: [run(0, seq(1, 4)), run(10, seq(20, 4)), run(30, seq(40, 2), FILE)] },
    ]);
    // Mapping at 10 removed; content 1..4 moved up one page; a new mapping at 50 holding seeds that existed before.
    const procs = [
      { pid: 1, pagesId: 1, entries: [run(0, [1, 1, 2, 3, 4]), run(30, seq(40, 2), FILE), run(50, seq(20, 4))] },
    ];
    const b = await step('b', procs, { name: 'a', result: a });
    expect(await entriesOf(join(root, 'b'), 1)).toEqual([
      [BASE, 1, PE_PARENT],
      [BASE + PAGE, 4, ANON],
      [BASE + 30 * PAGE, 2, PE_PARENT],
      [BASE + 50 * PAGE, 4, ANON],
    ]);
    expect(b.changedPages).toBe(8);
    await expectRestoresTo('b', procs);
  });

  it('keeps each changed page its entry flags and copies non-PRESENT entries as they are', async () => {
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 3), FILE), run(3, seq(4, 3), ANON)] }]);
    const lazyOnly: SynthEntry = { vaddr: BASE + 8 * PAGE, flags: PE_LAZY, nrPages: 5 };
    const procs = [
      { pid: 1, pagesId: 1, entries: [run(0, [1, 90, 3], FILE), run(3, [4, 91, 6], ANON), lazyOnly, run(20, [7])] },
    ];
    const b = await step('b', procs, { name: 'a', result: a });
    expect(await entriesOf(join(root, 'b'), 1)).toEqual([
      [BASE, 1, PE_PARENT],
      [BASE + PAGE, 1, FILE],
      [BASE + 2 * PAGE, 2, PE_PARENT],
      [BASE + 4 * PAGE, 1, ANON],
      [BASE + 5 * PAGE, 1, PE_PARENT],
      [BASE + 8 * PAGE, 5, PE_LAZY],
      [BASE + 20 * PAGE, 1, ANON],
    ]);
    expect(b.totalPages).toBe(7);
    expect(b.hashes.totalPages).toBe(7); // the lazy-only entry has no pages here to hash
  });

  it('chains: a page unchanged for two checkpoints is read from the grandparent', async () => {
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 6))] }]);
    const b = await step('b', [{ pid: 1, pagesId: 1, entries: [run(0, [1, 2, 70, 4, 5, 6])] }], {
      name: 'a',
      result: a,
    });
    const procs = [{ pid: 1, pagesId: 1, entries: [run(0, [1, 2, 70, 80, 5, 6])] }];
    const c = await step('c', procs, { name: 'b', result: b }, PAGE);
    expect(c.changedPages).toBe(1);
    expect(await entriesOf(join(root, 'c'), 1)).toEqual([
      [BASE, 3, PE_PARENT],
      [BASE + 3 * PAGE, 1, ANON],
      [BASE + 4 * PAGE, 2, PE_PARENT],
    ]);
    await expectRestoresTo('c', procs);
    // Page 2 (seed 70) is in b, pages 0, 1, 4, 5 in a: the state after b still hashed every page.
    expect(b.hashes.totalPages).toBe(6);
  });

  it('rewrites every process of a tree, each against its own pagemap in the parent', async () => {
    const old = [
      { pid: 100, pagesId: 1, entries: [run(0, seq(1, 4))] },
      { pid: 101, pagesId: 2, entries: [run(0, seq(1, 4)), run(8, seq(9, 2), FILE)] },
    ];
    const a = await step('a', old);
    const procs = [
      { pid: 100, pagesId: 2, entries: [run(0, [1, 2, 33, 4])] }, // CRIU numbers pages images per dump
      { pid: 101, pagesId: 1, entries: [run(0, seq(1, 4)), run(8, [9, 44], FILE)] },
    ];
    const b = await step('b', procs, { name: 'a', result: a });
    expect(b.processes).toEqual([
      { pid: 100, totalPages: 4, changedPages: 1 },
      { pid: 101, totalPages: 6, changedPages: 1 },
    ]);
    expect((await stat(join(root, 'b', 'pages-2.img'))).size).toBe(PAGE);
    await expectRestoresTo('b', procs);
  });

  it('leaves shared memory pagemaps and their pages as CRIU wrote them, and says so', async () => {
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 2))] }]);
    await writeDump(join(root, 'b'), [{ pid: 1, pagesId: 1, entries: [run(0, [1, 5])] }]);
    // A shmem pagemap is named by the segment id, with its own pages image (same format).
    await writeDump(join(root, 'shm'), [
      { pid: 77, pagesId: 2, entries: [{ vaddr: 0, flags: PE_PRESENT, seeds: [1, 2, 3] }] },
    ]);
    const shmemMap = await readFile(join(root, 'shm', 'pagemap-77.img'));
    const shmemPages = await readFile(join(root, 'shm', 'pages-2.img'));
    await writeFile(join(root, 'b', 'pagemap-shmem-77.img'), shmemMap);
    await writeFile(join(root, 'b', 'pages-2.img'), shmemPages);
    const b = await rewriteAsDelta({ dir: join(root, 'b'), name: 'b', parentName: 'a', previous: a.hashes });
    expect(b.shmem).toEqual({
      pagemaps: 1,
      pages: 3,
      handling: 'left as CRIU wrote them (full): 1 pagemap-shmem image(s), 3 pages',
    });
    expect(b.changedPages).toBe(1);
    expect((await readFile(join(root, 'b', 'pagemap-shmem-77.img'))).equals(shmemMap)).toBe(true);
    expect((await readFile(join(root, 'b', 'pages-2.img'))).equals(shmemPages)).toBe(true);
    expect(a.shmem.handling).toBe('none in this dump');
  });

  it('keeps a checkpoint full when every page changed (a delta would only lengthen the chain)', async () => {
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 3))] }]);
    const b = await step('b', [{ pid: 1, pagesId: 1, entries: [run(0, seq(11, 3))] }], { name: 'a', result: a });
    expect(b).toMatchObject({
      parentUsed: false,
      changedPages: 3,
      reason: 'every page changed since a: kept as a full checkpoint (new chain)',
    });
    expect(await readdir(join(root, 'b'))).not.toContain('parent');
    expect(await entriesOf(join(root, 'b'), 1)).toEqual([[BASE, 3, ANON]]);
    expect(await leftoverTemps(join(root, 'b'))).toEqual([]);
  });

  it('does not touch a dump that is already incremental', async () => {
    const a = await step('a', [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 3))] }]);
    await writeDump(join(root, 'b'), [
      { pid: 1, pagesId: 1, entries: [{ vaddr: BASE, flags: PE_PARENT, nrPages: 2 }, run(2, [3])] },
    ]);
    const b = await rewriteAsDelta({ dir: join(root, 'b'), name: 'b', parentName: 'a', previous: a.hashes });
    expect(b.parentUsed).toBe(false);
    expect(b.reason).toMatch(/already incremental/);
    expect(b.totalPages).toBe(1);
  });

  it('throws on a new dump whose pages image does not match its pagemap, and leaves it alone', async () => {
    await writeDump(join(root, 'a'), [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 3))] }]);
    await writeFile(join(root, 'a', 'pages-1.img'), pageOf(1));
    await expect(rewriteAsDelta({ dir: join(root, 'a'), name: 'a' })).rejects.toBeInstanceOf(ImageError);
    await expect(rewriteAsDelta({ dir: join(root, 'nothing'), name: 'nothing' })).rejects.toBeInstanceOf(ImageError);
  });
});

describe('rewriteAsDelta never uses a wrong parent', () => {
  const procs = (pid = 1): SynthProcess[] => [{ pid, pagesId: 1, entries: [run(0, seq(1, 4))] }];
  const changed = (pid = 1): SynthProcess[] => [{ pid, pagesId: 1, entries: [run(0, [1, 2, 3, 9])] }];

  // Rewrites b against a's state and checks b stayed full with a reason matching `why`.
  async function expectFull(result: RewriteResult, why: RegExp): Promise<void> {
    expect(result.parentUsed).toBe(false);
    expect(result.reason).toMatch(why);
    expect(result.changedPages).toBe(result.totalPages);
    expect(await readdir(join(root, 'b'))).not.toContain('parent');
    expect(await entriesOf(join(root, 'b'), result.hashes.pids[0]!)).toEqual([[BASE, 4, ANON]]);
  }

  it('previous checkpoint missing', async () => {
    const a = await step('a', procs());
    await rm(join(root, 'a'), { recursive: true });
    await expectFull(
      await step('b', changed(), { name: 'a', result: a }),
      /^previous checkpoint missing: .*\/a \(ENOENT\)$/,
    );
  });

  it("previous checkpoint's pagemap corrupt", async () => {
    const a = await step('a', procs());
    const path = join(root, 'a', 'pagemap-1.img');
    const bytes = await readFile(path);
    bytes[bytes.length - 3] = 0xff; // breaks the last entry's varint
    await writeFile(path, bytes.subarray(0, bytes.length - 1));
    await expectFull(
      await step('b', changed(), { name: 'a', result: a }),
      /^previous checkpoint's pagemap is unreadable: .*pagemap-1\.img: at byte \d+/,
    );
  });

  it('previous pagemap replaced by another valid one, or pages image rewritten', async () => {
    const a = await step('a', procs());
    await writeDump(join(root, 'other'), [{ pid: 1, pagesId: 1, entries: [run(0, seq(1, 5))] }]);
    await writeFile(join(root, 'a', 'pagemap-1.img'), await readFile(join(root, 'other', 'pagemap-1.img')));
    await expectFull(
      await step('b', changed(), { name: 'a', result: a }),
      /^previous state does not match the directory: .*pagemap-1\.img is not the pagemap that was hashed$/,
    );

    const a2 = await step('a2', procs());
    // Same bytes in a new file renamed over it (as when a directory is replaced by a copy).
    await writeFile(join(root, 'a2', 'copy'), await readFile(join(root, 'a2', 'pages-1.img')));
    await rename(join(root, 'a2', 'copy'), join(root, 'a2', 'pages-1.img'));
    await rm(join(root, 'b'), { recursive: true });
    await expectFull(
      await step('b', changed(), { name: 'a2', result: a2 }),
      /^previous state does not match the directory: .*pages-1\.img was replaced or rewritten/,
    );
  });

  it('from another process (different pids), or with a state of another checkpoint', async () => {
    const a = await step('a', procs(1));
    await expectFull(await step('b', changed(2), { name: 'a', result: a }), /^different pids: \[1\] in a, \[2\] now$/);

    await step('x', procs(1));
    await rm(join(root, 'b'), { recursive: true });
    await writeDump(join(root, 'b'), changed(1));
    const b = await rewriteAsDelta({ dir: join(root, 'b'), name: 'b', parentName: 'x', previous: a.hashes });
    await expectFull(b, /^previous state describes checkpoint a, not x$/);
  });

  it('previous checkpoint whose own parent is gone', async () => {
    const a = await step('a', procs());
    const b0 = await step('b0', changed(), { name: 'a', result: a });
    expect(b0.parentUsed).toBe(true);
    await rm(join(root, 'a'), { recursive: true });
    // b equals b0 page for page: only the broken chain can keep it full.
    await expectFull(
      await step('b', changed(), { name: 'b0', result: b0 }),
      /^previous checkpoint's parent chain is broken: .*\/a \(parent of .*b0\) is missing/,
    );
  });
});

describe('rewriteAsDelta, property: the chain restores to the full dump and keeps exactly the changed pages', () => {
  // A process image: a few mappings (start page, seeds) with gaps between them.
  const mappings = fc.array(
    fc.record({
      gap: fc.integer({ min: 0, max: 3 }),
      seeds: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 9 }),
    }),
    {
      minLength: 1,
      maxLength: 5,
    },
  );

  // Lays mappings out from BASE: each starts `gap` pages after the previous one ends; entries of ≤ 4 pages (like CRIU's splits).
  function layout(ms: { gap: number; seeds: number[] }[], flags: number[]): SynthEntry[] {
    const entries: SynthEntry[] = [];
    let page = 0;
    ms.forEach((m, k) => {
      page += m.gap;
      for (let i = 0; i < m.seeds.length; i += 4)
        entries.push(run(page + i, m.seeds.slice(i, i + 4), flags[k % flags.length]!));
      page += m.seeds.length;
    });
    return entries;
  }

  it('for random layouts, changes and chunk sizes', async () => {
    let deltas = 0;
    await fc.assert(
      fc.asyncProperty(mappings, mappings, mappings, fc.integer({ min: 1, max: 5 }), async (m1, m2, m3, chunkPages) => {
        await rm(root, { recursive: true, force: true });
        await writeDump(root, []);
        const chain = [layout(m1, [ANON, FILE]), layout(m2, [ANON]), layout(m3, [FILE, ANON])];
        let previous: { name: string; result: RewriteResult } | undefined;
        let previousMemory = new Map<number, Buffer>();
        for (const [k, entries] of chain.entries()) {
          const procs = [{ pid: 5, pagesId: 1, entries }];
          const result = await step(`c${k}`, procs, previous, chunkPages * PAGE);
          const memory = memoryOf(procs[0]!);
          const expectedChanged = [...memory].filter(
            ([vaddr, page]) => !previousMemory.get(vaddr)?.equals(page),
          ).length;
          if (result.parentUsed) {
            deltas++;
            expect(result.changedPages).toBe(expectedChanged);
          } else if (previous !== undefined) {
            expect(expectedChanged).toBe(memory.size); // only "every page changed" keeps a chain step full here
          }
          expect((await stat(join(root, `c${k}`, 'pages-1.img'))).size).toBe(result.changedPages * PAGE);
          await expectRestoresTo(`c${k}`, procs);
          previous = { name: `c${k}`, result };
          previousMemory = memory;
        }
      }),
      { numRuns: 60 },
    );
    expect(deltas).toBeGreaterThan(30); // the property really exercised parent runs
  });
});
