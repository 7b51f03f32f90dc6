// Synthetic CRIU image sets for the delta tests, and a model of how `criu restore` reads pages through
// parent links (written from CRIU's page-read.c behaviour, independent of the code under test).
import { mkdir, readFile, readdir, readlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  PE_PARENT,
  PE_PRESENT,
  encodePagemap,
  readPagemapFile,
  type PagemapEntry,
} from '../../src/criu/images/index.js';

export const PAGE = 4096;

/** One pagemap entry of a synthetic dump: PRESENT entries give one content seed per page. */
export interface SynthEntry {
  vaddr: number;
  flags: number;
  /** Content seed of each page (PRESENT entries); its length is the entry's page count. */
  seeds?: number[];
  /** Page count of non-PRESENT entries. */
  nrPages?: number;
}

export interface SynthProcess {
  pid: number;
  pagesId: number;
  entries: SynthEntry[];
}

/** A page whose bytes are determined by seed: the seed in the first word, then a seed-derived pattern. */
export function pageOf(seed: number): Buffer {
  const page = Buffer.alloc(PAGE);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let off = 0; off < PAGE; off += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    page.writeUInt32LE(x >>> 0, off);
  }
  page.writeUInt32LE(seed >>> 0, 0);
  return page;
}

/** Writes a full dump's pagemap-PID.img and pages-ID.img files (plus a stand-in inventory) into dir. */
export async function writeDump(dir: string, processes: readonly SynthProcess[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'inventory.img'), 'not read by the rewrite');
  for (const proc of processes) {
    const entries: PagemapEntry[] = proc.entries.map((e) => ({
      vaddr: e.vaddr,
      flags: e.flags,
      nrPages: e.seeds?.length ?? e.nrPages ?? 0,
    }));
    await writeFile(join(dir, `pagemap-${proc.pid}.img`), encodePagemap({ pagesId: proc.pagesId, entries }));
    const pages = proc.entries.filter((e) => (e.flags & PE_PRESENT) !== 0).flatMap((e) => (e.seeds ?? []).map(pageOf));
    await writeFile(join(dir, `pages-${proc.pagesId}.img`), Buffer.concat(pages));
  }
}

/** vaddr -> page bytes, as `criu restore -D dir` would put a process's dumped pages back. */
export async function restoredMemory(dir: string, pid: number): Promise<Map<number, Buffer>> {
  const pagemap = await readPagemapFile(join(dir, `pagemap-${pid}.img`));
  const pages = await readFile(join(dir, `pages-${pagemap.pagesId}.img`));
  const memory = new Map<number, Buffer>();
  let parent: Map<number, Buffer> | undefined;
  let offset = 0;
  for (const e of pagemap.entries) {
    for (let i = 0; i < e.nrPages; i++) {
      const vaddr = e.vaddr + i * PAGE;
      if ((e.flags & PE_PARENT) !== 0) {
        parent ??= await restoredMemory(resolve(dir, await readlink(join(dir, 'parent'))), pid);
        const page = parent.get(vaddr);
        // CRIU: "Missing %lx in parent pagemap", and the restore fails.
        if (page === undefined) throw new Error(`Missing ${vaddr.toString(16)} in parent pagemap of ${dir}`);
        memory.set(vaddr, page);
      } else if ((e.flags & PE_PRESENT) !== 0) {
        if (offset + PAGE > pages.length)
          throw new Error(`pages image of ${dir} ends before page ${vaddr.toString(16)}`);
        memory.set(vaddr, pages.subarray(offset, offset + PAGE));
        offset += PAGE;
      }
    }
  }
  if (offset !== pages.length)
    throw new Error(`pages image of ${dir} has ${pages.length - offset} bytes no entry reads`);
  return memory;
}

/** vaddr -> page bytes of a synthetic process as dumped (what a correct restore must give back). */
export function memoryOf(proc: SynthProcess): Map<number, Buffer> {
  const memory = new Map<number, Buffer>();
  for (const e of proc.entries) {
    if ((e.flags & PE_PRESENT) === 0) continue;
    (e.seeds ?? []).forEach((seed, i) => memory.set(e.vaddr + i * PAGE, pageOf(seed)));
  }
  return memory;
}

/** The entries of a directory's pagemap for pid, as [vaddr, nrPages, flags] triples (compact to compare). */
export async function entriesOf(dir: string, pid: number): Promise<[number, number, number][]> {
  const pagemap = await readPagemapFile(join(dir, `pagemap-${pid}.img`));
  return pagemap.entries.map((e) => [e.vaddr, e.nrPages, e.flags]);
}

/** Names of leftover temporary files of the rewrite in dir. */
export async function leftoverTemps(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.includes('tmp'));
}
