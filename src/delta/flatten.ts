// Flattening a delta chain: the memory that `criu restore -D TARGET` would rebuild from TARGET and its
// parents, written as one checkpoint with no parent. Each page is taken from the newest link that holds
// it (a PE_PARENT entry sends the reader to the parent, as CRIU's own reader does), so the result restores
// exactly what the chain restores. Every other image of TARGET (cores, mm, fds, shared memory, which the
// rewrite never delta-encodes) is copied unchanged. The output is a function of the chain's content only:
// the primary and the backup flattening the same chain write the same bytes.
import { closeSync, openSync } from 'node:fs';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ImageError,
  PE_PARENT,
  PE_PRESENT,
  decodePagemap,
  encodePagemap,
  presentPages,
  readImageBytes,
  type Pagemap,
} from '../criu/images/index.js';
import { at } from '../at.js';
import { giveBack, takeBuffer } from './buffer-pool.js';
import { checkOrder } from './dump-images.js';
import { readFull, writeFull } from './raw-io.js';
import { RunList } from './run-list.js';

export interface FlattenOptions {
  /** The chain's directories: the target first, then its parent, and so on down to a link with no parent. */
  chain: readonly string[];
  /** An empty directory to write the flattened checkpoint into. */
  out: string;
  /** The target's files to carry over (its pagemap-PID.img and their pages images are rebuilt instead). */
  files: readonly string[];
  pageSize: number;
  /** Bytes gathered before each write. */
  chunkBytes?: number;
  /** Awaited between steps: the supervisor holds it while a checkpoint is taken, so no merge runs then. */
  step?: () => Promise<void>;
}

export interface FlattenResult {
  /** Pages in the flattened checkpoint's pages images. */
  pages: number;
  /** Bytes written: pages images, pagemaps and the copied images. */
  bytesWritten: number;
  processes: number;
}

const TASK_PAGEMAP = /^pagemap-(\d+)\.img$/;

// One link's pagemap for a pid, with where each PRESENT entry's pages start in its pages image.
interface LinkPages {
  dir: string;
  pagemap: Pagemap;
  /** Per entry: its first page's index in the pages image (meaningful for PRESENT entries). */
  firstPage: number[];
  fd: number;
}

/** Writes the flattened form of `chain` into `out`; throws ImageError or an fs error naming the file. */
export async function flattenChain(options: FlattenOptions): Promise<FlattenResult> {
  const { chain, out, pageSize } = options;
  const step = options.step ?? (() => Promise.resolve());
  const chunkBytes = Math.max(pageSize, Math.floor((options.chunkBytes ?? 1 << 20) / pageSize) * pageSize);
  const [target] = chain;
  if (target === undefined) throw new RangeError('flattenChain: the chain has no directory');
  const pids = options.files
    .map((f) => TASK_PAGEMAP.exec(f))
    .filter((m) => m !== null)
    .map((m) => Number(m[1]));
  const rebuilt = new Set<string>();
  let pages = 0;
  let bytesWritten = 0;
  for (const pid of pids) {
    const links = await openLinks(chain, pid, pageSize);
    try {
      const head = at(links, 0); // one link per directory of the chain
      rebuilt.add(`pagemap-${pid}.img`).add(`pages-${head.pagemap.pagesId}.img`);
      const written = await writeFlatPages(
        links,
        join(out, `pages-${head.pagemap.pagesId}.img`),
        pageSize,
        chunkBytes,
        step,
      );
      const pagemap = encodePagemap({
        pagesId: head.pagemap.pagesId,
        entries: written.entries,
        countField: head.pagemap.countField,
      });
      await writeFile(join(out, `pagemap-${pid}.img`), pagemap);
      pages += written.pages;
      bytesWritten += written.pages * pageSize + pagemap.length;
    } finally {
      for (const link of links) closeSync(link.fd);
    }
  }
  for (const file of options.files) {
    if (rebuilt.has(file)) continue;
    await step();
    await copyFile(join(target, file), join(out, file));
    bytesWritten += (await stat(join(out, file))).size;
  }
  return { pages, bytesWritten, processes: pids.length };
}

// Opens pid's pagemap and pages image in every link, checked as the rewrite checks a new dump.
async function openLinks(chain: readonly string[], pid: number, pageSize: number): Promise<LinkPages[]> {
  const links: LinkPages[] = [];
  try {
    for (const dir of chain) {
      const path = join(dir, `pagemap-${pid}.img`);
      const pagemap = decodePagemap(await readImageBytes(path), path);
      checkOrder(pagemap, path, pageSize);
      const firstPage: number[] = [];
      let next = 0;
      for (const e of pagemap.entries) {
        firstPage.push(next);
        if ((e.flags & PE_PRESENT) !== 0) next += e.nrPages;
      }
      const pagesPath = join(dir, `pages-${pagemap.pagesId}.img`);
      const fd = openSync(pagesPath, 'r');
      links.push({ dir, pagemap, firstPage, fd });
      const { size } = await stat(pagesPath);
      if (size !== presentPages(pagemap) * pageSize) {
        throw new ImageError({
          file: pagesPath,
          offset: 0,
          expected: `${presentPages(pagemap)} pages of ${pageSize} bytes (the PRESENT pages of ${path})`,
          found: `${size} bytes`,
          code: 'bad-length',
        });
      }
    }
    return links;
  } catch (error) {
    for (const link of links) closeSync(link.fd);
    throw error;
  }
}

// Where page `vaddr` of a link lives: the entry holding it, or -1 (binary search: entries are in order).
function entryAt(link: LinkPages, vaddr: number, pageSize: number): number {
  const entries = link.pagemap.entries;
  let lo = 0;
  let hi = entries.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = entries[mid];
    if (e === undefined) return -1; // never: mid is in lo..hi, inside the array
    if (vaddr < e.vaddr) hi = mid - 1;
    else if (vaddr >= e.vaddr + e.nrPages * pageSize) lo = mid + 1;
    else return mid;
  }
  return -1;
}

// The link and page index in its pages image holding page `vaddr`, following PE_PARENT from link `from` on.
function locate(
  links: readonly LinkPages[],
  from: number,
  vaddr: number,
  pageSize: number,
): { link: number; page: number; flags: number } {
  for (let l = from; l < links.length; l++) {
    // Once per page and link: checks inline rather than at(), whose one index site would see every kind of array.
    const link = links[l];
    if (link === undefined) break; // never: l < links.length
    const i = entryAt(link, vaddr, pageSize);
    const entry = i < 0 ? undefined : link.pagemap.entries[i];
    if (entry === undefined || (entry.flags & PE_PARENT) === 0) {
      if (entry === undefined || (entry.flags & PE_PRESENT) === 0) break;
      const firstPage = link.firstPage[i]; // one per entry of the pagemap: set whenever entry is
      if (firstPage === undefined) break;
      return { link: l, page: firstPage + (vaddr - entry.vaddr) / pageSize, flags: entry.flags };
    }
  }
  const where = (links[from] ?? at(links, 0)).dir;
  throw new ImageError({
    file: where,
    offset: 0,
    expected: `page 0x${vaddr.toString(16)} in a link of the chain (a PE_PARENT entry points there)`,
    found: 'no link holding it',
    code: 'bad-message',
  });
}

// Gathers every page of the target's address space (its own and its parents') into one pages image, in entry order.
async function writeFlatPages(
  links: readonly LinkPages[],
  outPath: string,
  pageSize: number,
  chunkBytes: number,
  step: () => Promise<void>,
) {
  const runs = new RunList(pageSize);
  const buffer = takeBuffer(chunkBytes);
  const out = openSync(outPath, 'w');
  let filled = 0;
  let written = 0;
  let pages = 0;
  // A read not yet done: `count` consecutive pages of one link's pages image.
  let pending: { link: number; page: number; count: number } | undefined;
  const flushRead = () => {
    if (pending === undefined) return;
    const bytes = pending.count * pageSize;
    const link = at(links, pending.link);
    const got = readFull(link.fd, buffer.subarray(filled), bytes, pending.page * pageSize);
    if (got !== bytes) {
      throw new ImageError({
        file: link.dir,
        offset: pending.page * pageSize + got,
        expected: `${bytes} bytes of pages`,
        found: 'end of file',
        code: 'truncated',
      });
    }
    filled += bytes;
    pending = undefined;
  };
  try {
    for (const entry of at(links, 0).pagemap.entries) {
      if ((entry.flags & (PE_PRESENT | PE_PARENT)) === 0) {
        runs.copy(entry);
        continue;
      }
      for (let p = 0; p < entry.nrPages; p++) {
        const vaddr = entry.vaddr + p * pageSize;
        const found = locate(links, 0, vaddr, pageSize);
        runs.add(vaddr, found.flags);
        pages++;
        if (
          pending !== undefined &&
          pending.link === found.link &&
          pending.page + pending.count === found.page &&
          filled + (pending.count + 1) * pageSize <= chunkBytes
        ) {
          pending.count++;
          continue;
        }
        flushRead();
        if (filled + pageSize > chunkBytes) {
          writeFull(out, buffer, filled, written);
          written += filled;
          filled = 0;
          await step();
        }
        pending = { link: found.link, page: found.page, count: 1 };
      }
    }
    flushRead();
    writeFull(out, buffer, filled, written);
    return { entries: runs.entries, pages };
  } finally {
    closeSync(out);
    giveBack(buffer);
  }
}
