// Reading the new full dump before a rewrite: each process's pagemap (checked for order) and the stamp of its
// pages image, and the shared-memory pagemaps, which are left as CRIU wrote them.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ImageError,
  decodePagemap,
  listPagemapFiles,
  presentPages,
  readImageBytes,
  type Pagemap,
} from '../criu/images/index.js';
import { fileStamp, type FileStamp } from './page-hashes.js';

/** What was done with shared memory (pagemap-shmem-*.img and their pages images). */
export interface ShmemReport {
  pagemaps: number;
  pages: number;
  /** Always "left as CRIU wrote them (full)": shared memory is never delta-encoded. */
  handling: string;
}

// One process's images in the new dump, as read before any rewrite.
export interface DumpedProcess {
  pid: number;
  pagemapPath: string;
  pagemapBytes: Uint8Array;
  pagemap: Pagemap;
  pagesPath: string;
  pagesStamp: FileStamp;
  pages: number;
}

// Reads and checks every pagemap-PID.img of the dump and the stamp of its pages image.
export async function readDump(dir: string, pageSize: number): Promise<DumpedProcess[]> {
  const files = await listPagemapFiles(dir);
  if (files.length === 0) {
    throw new ImageError({ file: dir, offset: 0, expected: 'at least one pagemap-PID.img', found: 'none', code: 'io' });
  }
  const dumped: DumpedProcess[] = [];
  for (const file of files) {
    const pagemapBytes = await readImageBytes(file.path);
    const pagemap = decodePagemap(pagemapBytes, file.path);
    checkOrder(pagemap, file.path, pageSize);
    const pagesPath = join(dir, `pages-${pagemap.pagesId}.img`);
    const pagesStamp = await fileStamp(pagesPath);
    const pages = presentPages(pagemap);
    if (pagesStamp.size !== BigInt(pages) * BigInt(pageSize)) {
      const expected = `${pages} pages of ${pageSize} bytes (the PRESENT pages of ${file.path})`;
      throw new ImageError({
        file: pagesPath,
        offset: 0,
        expected,
        found: `${pagesStamp.size} bytes`,
        code: 'bad-length',
      });
    }
    dumped.push({ pid: file.pid, pagemapPath: file.path, pagemapBytes, pagemap, pagesPath, pagesStamp, pages });
  }
  const ids = dumped.map((p) => p.pagemap.pagesId);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) {
    throw new ImageError({
      file: dir,
      offset: 0,
      expected: 'one pages image per pagemap',
      found: `pages-${repeated}.img shared by two pagemaps`,
      code: 'bad-message',
    });
  }
  return dumped;
}

// Rejects a pagemap whose entries are unaligned, overlap or are out of order (the merge walks rely on order).
export function checkOrder(pagemap: Pagemap, label: string, pageSize: number): void {
  let end = 0;
  for (const [i, e] of pagemap.entries.entries()) {
    const next = e.vaddr + e.nrPages * pageSize;
    if (e.vaddr % pageSize !== 0 || e.vaddr < end || next > Number.MAX_SAFE_INTEGER) {
      const expected = `page-aligned entries in ascending address order (entry ${i} at 0x${e.vaddr.toString(16)}, previous end 0x${end.toString(16)})`;
      throw new ImageError({
        file: label,
        offset: 0,
        expected,
        found: 'an entry out of order, overlapping or unaligned',
        code: 'bad-message',
      });
    }
    end = next;
  }
}

// Describes the shared-memory pagemaps (left full) and checks no process pagemap shares their pages images.
export async function readShmem(dir: string, dumped: readonly DumpedProcess[]): Promise<ShmemReport> {
  const names = (await readdir(dir)).filter((n) => /^pagemap-shmem-\d+\.img$/.test(n));
  let pages = 0;
  for (const name of names) {
    const path = join(dir, name);
    const pagemap = decodePagemap(await readImageBytes(path), path);
    pages += presentPages(pagemap);
    const sharer = dumped.find((p) => p.pagemap.pagesId === pagemap.pagesId);
    if (sharer !== undefined) {
      throw new ImageError({
        file: path,
        offset: 0,
        expected: 'a pages image of its own',
        found: `pages-${pagemap.pagesId}.img, also used by ${sharer.pagemapPath}`,
        code: 'bad-message',
      });
    }
  }
  const handling =
    names.length === 0
      ? 'none in this dump'
      : `left as CRIU wrote them (full): ${names.length} pagemap-shmem image(s), ${pages} pages`;
  return { pagemaps: names.length, pages, handling };
}
