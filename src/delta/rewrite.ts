// Software deltas: rewrites a full `criu dump --leave-running` as a native CRIU incremental image set against
// the previous checkpoint, by comparing each page's hash with the previous checkpoint's page at that address.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { lstat, readdir, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import {
  ImageError,
  PE_PARENT,
  PE_PRESENT,
  decodePagemap,
  encodePagemap,
  listPagemapFiles,
  presentPages,
  readImageBytes,
  type Pagemap,
  type PagemapEntry,
} from '../criu/images/index.js';
import { HashCursor, PageHashes, ProcessHashesBuilder, checkState, fileStamp, loadHasher, type FileStamp, type ProcessHashes } from './page-hashes.js';

export const DEFAULT_PAGE_SIZE = 4096;
/** Bytes read per step into one reused buffer (small enough that the pages are hashed while still in cache). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export interface RewriteOptions {
  /** The new full dump: CRIU's finished output, still in the partial directory the caller renames afterwards. */
  dir: string;
  /** The name the checkpoint will have once renamed (recorded in the returned state's identity). */
  name: string;
  /** The previous checkpoint's directory name, a sibling of the final directory; undefined starts a new chain. */
  parentName?: string | undefined;
  /** The state returned by the rewrite of the previous checkpoint, if this process still has it. */
  previous?: PageHashes | undefined;
  pageSize?: number;
  chunkBytes?: number;
}

/** What was done with shared memory (pagemap-shmem-*.img and their pages images). */
export interface ShmemReport {
  pagemaps: number;
  pages: number;
  /** Always "left as CRIU wrote them (full)": shared memory is never delta-encoded. */
  handling: string;
}

export interface RewriteResult {
  /** The state of this checkpoint, for the next rewrite: every PRESENT page of the full dump. */
  hashes: PageHashes;
  /** Pages the processes' pagemaps hold (the full dump's PRESENT pages). */
  totalPages: number;
  /** Pages stored in this directory after the rewrite (= totalPages when no parent is used). */
  changedPages: number;
  parentUsed: boolean;
  /** With a parent: what was reused; without: why none was used. */
  reason: string;
  processes: { pid: number; totalPages: number; changedPages: number }[];
  shmem: ShmemReport;
  /** Bytes of the processes' pages images before and after the rewrite. */
  pagesBytesBefore: number;
  pagesBytesAfter: number;
  elapsedMs: number;
}

// One process's images in the new dump, as read before any rewrite.
interface DumpedProcess {
  pid: number;
  pagemapPath: string;
  pagemapBytes: Uint8Array;
  pagemap: Pagemap;
  pagesPath: string;
  pagesStamp: FileStamp;
  pages: number;
}

// What streaming one process's pages produced.
interface StreamedProcess {
  builder: ProcessHashesBuilder;
  entries: PagemapEntry[];
  /** Pages the process stores in this directory: the changed ones with a previous state, all of them without. */
  changedPages: number;
}

// Where a rewritten file is built before it is renamed over the original (never matches a CRIU image name).
function tempPath(path: string): string {
  return `${path}.remusd-delta-tmp`;
}

/**
 * Hashes every PRESENT page of the new full dump in options.dir and, when options.previous is a valid state
 * of the parent checkpoint for the same pids, rewrites each pagemap-PID.img / pages-ID.img so that pages equal
 * to the parent's page at the same address become PE_PARENT runs, and links `parent` -> ../parentName.
 * Files are written under temporary names and renamed over the originals. Without a usable parent the
 * directory is left exactly as CRIU wrote it and the reason says why. Throws (ImageError or an fs error)
 * only when the new dump itself cannot be read or written.
 */
export async function rewriteAsDelta(options: RewriteOptions): Promise<RewriteResult> {
  const started = performance.now();
  const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const chunkBytes = Math.max(pageSize, Math.floor((options.chunkBytes ?? DEFAULT_CHUNK_BYTES) / pageSize) * pageSize);
  const dumped = await readDump(options.dir, pageSize);
  const shmem = await readShmem(options.dir, dumped);
  const totalPages = dumped.reduce((sum, p) => sum + p.pages, 0);
  const pagesBytesBefore = totalPages * pageSize;

  const decision = await decideParent(options, dumped, pageSize);
  const previous = decision.ok ? options.previous : undefined;
  const h64 = await loadHasher();
  const temps: string[] = [];
  try {
    const streamed: StreamedProcess[] = [];
    for (const proc of dumped) {
      const state = previous?.process(proc.pid);
      const out = previous === undefined ? undefined : tempPath(proc.pagesPath);
      if (out !== undefined) temps.push(out);
      streamed.push(await streamPages(proc, { h64, previous: state, out, pageSize, chunkBytes }));
    }
    // = totalPages when there is no parent, or when every page changed (the parent is then dropped below).
    const changedPages = streamed.reduce((sum, s) => sum + s.changedPages, 0);
    let parentUsed = previous !== undefined;
    let reason = decision.ok ? '' : decision.reason;
    if (parentUsed && changedPages === totalPages) {
      parentUsed = false;
      reason = `every page changed since ${options.parentName}: kept as a full checkpoint (new chain)`;
    }

    const processes: ProcessHashes[] = [];
    if (parentUsed) {
      // The link first: a pagemap with PE_PARENT entries must never be visible without it.
      await symlink(`../${options.parentName!}`, join(options.dir, 'parent'));
      for (const [i, proc] of dumped.entries()) {
        const s = streamed[i]!;
        const bytes = encodePagemap({ pagesId: proc.pagemap.pagesId, entries: s.entries, countField: proc.pagemap.countField });
        const pagemapTemp = tempPath(proc.pagemapPath);
        temps.push(pagemapTemp);
        await writeFile(pagemapTemp, bytes);
        await rename(tempPath(proc.pagesPath), proc.pagesPath);
        await rename(pagemapTemp, proc.pagemapPath);
        processes.push(s.builder.finish(h64(bytes), { pagesId: proc.pagemap.pagesId, stamp: await fileStamp(proc.pagesPath) }));
      }
      reason = `parent ${options.parentName}: ${totalPages - changedPages} of ${totalPages} pages unchanged`;
    } else {
      for (const [i, proc] of dumped.entries()) {
        processes.push(streamed[i]!.builder.finish(h64(proc.pagemapBytes), { pagesId: proc.pagemap.pagesId, stamp: proc.pagesStamp }));
      }
    }
    return {
      hashes: new PageHashes(options.name, pageSize, processes),
      totalPages,
      changedPages,
      parentUsed,
      reason,
      processes: dumped.map((p, i) => ({ pid: p.pid, totalPages: p.pages, changedPages: streamed[i]!.changedPages })),
      shmem,
      pagesBytesBefore,
      pagesBytesAfter: changedPages * pageSize,
      elapsedMs: performance.now() - started,
    };
  } finally {
    // Renamed temps are gone already; this removes those left by an error or a dropped delta.
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
}

// Reads and checks every pagemap-PID.img of the dump and the stamp of its pages image.
async function readDump(dir: string, pageSize: number): Promise<DumpedProcess[]> {
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
      throw new ImageError({ file: pagesPath, offset: 0, expected, found: `${pagesStamp.size} bytes`, code: 'bad-length' });
    }
    dumped.push({ pid: file.pid, pagemapPath: file.path, pagemapBytes, pagemap, pagesPath, pagesStamp, pages });
  }
  const ids = dumped.map((p) => p.pagemap.pagesId);
  const repeated = ids.find((id, i) => ids.indexOf(id) !== i);
  if (repeated !== undefined) {
    throw new ImageError({ file: dir, offset: 0, expected: 'one pages image per pagemap', found: `pages-${repeated}.img shared by two pagemaps`, code: 'bad-message' });
  }
  return dumped;
}

// Rejects a pagemap whose entries are unaligned, overlap or are out of order (the merge walks rely on order).
function checkOrder(pagemap: Pagemap, label: string, pageSize: number): void {
  let end = 0;
  for (const [i, e] of pagemap.entries.entries()) {
    const next = e.vaddr + e.nrPages * pageSize;
    if (e.vaddr % pageSize !== 0 || e.vaddr < end || next > Number.MAX_SAFE_INTEGER) {
      const expected = `page-aligned entries in ascending address order (entry ${i} at 0x${e.vaddr.toString(16)}, previous end 0x${end.toString(16)})`;
      throw new ImageError({ file: label, offset: 0, expected, found: 'an entry out of order, overlapping or unaligned', code: 'bad-message' });
    }
    end = next;
  }
}

// Describes the shared-memory pagemaps (left full) and checks no process pagemap shares their pages images.
async function readShmem(dir: string, dumped: readonly DumpedProcess[]): Promise<ShmemReport> {
  const names = (await readdir(dir)).filter((n) => /^pagemap-shmem-\d+\.img$/.test(n));
  let pages = 0;
  for (const name of names) {
    const path = join(dir, name);
    const pagemap = decodePagemap(await readImageBytes(path), path);
    pages += presentPages(pagemap);
    const sharer = dumped.find((p) => p.pagemap.pagesId === pagemap.pagesId);
    if (sharer !== undefined) {
      throw new ImageError({ file: path, offset: 0, expected: 'a pages image of its own', found: `pages-${pagemap.pagesId}.img, also used by ${sharer.pagemapPath}`, code: 'bad-message' });
    }
  }
  const handling =
    names.length === 0 ? 'none in this dump' : `left as CRIU wrote them (full): ${names.length} pagemap-shmem image(s), ${pages} pages`;
  return { pagemaps: names.length, pages, handling };
}

// Whether the previous state may serve as the parent of this dump, and if not why.
async function decideParent(options: RewriteOptions, dumped: readonly DumpedProcess[], pageSize: number): Promise<{ ok: true } | { ok: false; reason: string }> {
  const { dir, parentName, previous } = options;
  if (dumped.some((p) => p.pagemap.entries.some((e) => (e.flags & PE_PARENT) !== 0)) || (await exists(join(dir, 'parent')))) {
    return { ok: false, reason: 'the new dump is already incremental (it has its own parent): left as CRIU wrote it' };
  }
  if (parentName === undefined) return { ok: false, reason: 'no parent requested (new chain)' };
  if (!/^[^/]+$/.test(parentName) || parentName === '.' || parentName === '..') {
    return { ok: false, reason: `parent name ${JSON.stringify(parentName)} is not a directory name` };
  }
  if (previous === undefined) return { ok: false, reason: 'no previous state' };
  if (previous.name !== parentName) return { ok: false, reason: `previous state describes checkpoint ${previous.name}, not ${parentName}` };
  if (previous.pageSize !== pageSize) return { ok: false, reason: `previous state has ${previous.pageSize}-byte pages, this dump ${pageSize}` };
  const parentDir = resolve(dir, '..', parentName);
  try {
    if (!(await stat(parentDir)).isDirectory()) return { ok: false, reason: `previous checkpoint missing: ${parentDir} is not a directory` };
  } catch (err) {
    return { ok: false, reason: `previous checkpoint missing: ${parentDir} (${(err as { code?: string }).code ?? String(err)})` };
  }
  const pids = dumped.map((p) => p.pid);
  if (pids.join(',') !== previous.pids.join(',')) {
    return { ok: false, reason: `different pids: [${previous.pids.join(', ')}] in ${parentName}, [${pids.join(', ')}] now` };
  }
  return checkState(previous, parentDir);
}

// Whether a path exists (a dangling symlink counts).
async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

// Reusable read buffers (first touch of fresh memory is slow on these VMs): taken per pass, given back after.
const freeBuffers: Buffer[] = [];

function takeBuffer(size: number): Buffer {
  const i = freeBuffers.findIndex((b) => b.length === size);
  return i >= 0 ? freeBuffers.splice(i, 1)[0]! : Buffer.allocUnsafeSlow(size);
}

function giveBack(buffer: Buffer): void {
  if (freeBuffers.length < 4) freeBuffers.push(buffer);
}

// Reads until buf[0, length) is full or the file ends; returns the bytes read.
function readFull(fd: number, buf: Buffer, length: number, position: number): number {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

// Writes buf[0, length) at position, whatever the number of write calls it takes.
function writeFull(fd: number, buf: Buffer, length: number, position: number): void {
  for (let done = 0; done < length; ) done += writeSync(fd, buf, done, length - done, position + done);
}

// The pass yields to the event loop after this many bytes, so timers and I/O callbacks run during a big pass.
const YIELD_EVERY_BYTES = 32 * 1024 * 1024;

interface StreamOptions {
  h64: (bytes: Uint8Array) => bigint;
  /** The previous state of this pid; undefined: hash only. */
  previous: ProcessHashes | undefined;
  /** Where to write the changed pages; undefined: hash only. */
  out: string | undefined;
  pageSize: number;
  chunkBytes: number;
}

/**
 * One pass over a process's pages image: hashes each page and, with a previous state, decides per page whether
 * it changed, builds the new pagemap entries (runs of unchanged pages become PE_PARENT, changed pages keep their
 * entry's flags, non-PRESENT entries are copied as they are) and appends the changed pages, in entry order, to
 * `out`. Synchronous reads into one reused buffer (measured faster here than overlapped async reads: the data is
 * hashed while still in cache), with a yield to the event loop every 32 MiB.
 */
async function streamPages(proc: DumpedProcess, options: StreamOptions): Promise<StreamedProcess> {
  const { h64, previous, pageSize, chunkBytes } = options;
  const entries = proc.pagemap.entries;
  const builder = new ProcessHashesBuilder(proc.pid, pageSize, proc.pages, entries.length);
  const hashes = builder.hashes;
  const cursor = previous === undefined ? undefined : new HashCursor(previous, pageSize);
  // The hashes seen as 32-bit halves: comparing them allocates nothing (reading a BigUint64Array makes a BigInt).
  const newHalves = new Uint32Array(hashes.buffer, hashes.byteOffset, hashes.length * 2);
  const oldHalves = previous === undefined ? undefined : new Uint32Array(previous.hashes.buffer, previous.hashes.byteOffset, previous.hashes.length * 2);
  const runs = new RunList(pageSize);
  const fileBytes = proc.pages * pageSize;
  let changedPages = 0;
  let e = 0; // entry of the next page
  let i = 0; // page within that entry

  // Moves past entries with no pages in the pages image, copying them to the output as they are.
  const skipToPresent = (): void => {
    while (e < entries.length && ((entries[e]!.flags & PE_PRESENT) === 0 || entries[e]!.nrPages === 0)) {
      runs.copy(entries[e]!);
      e++;
      i = 0;
    }
  };

  const buffer = takeBuffer(chunkBytes);
  // Per-page views from a plain Uint8Array are cheaper to make than Buffer slices.
  const chunk = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length);
  const input = openSync(proc.pagesPath, 'r');
  let output: number | undefined;
  try {
    output = options.out === undefined ? undefined : openSync(options.out, 'w');
    let written = 0;
    let sinceYield = 0;
    for (let position = 0; position < fileBytes; ) {
      const length = readFull(input, buffer, Math.min(chunkBytes, fileBytes - position), position);
      if (length === 0 || length % pageSize !== 0) {
        throw new ImageError({ file: proc.pagesPath, offset: position + length, expected: `${fileBytes} bytes of whole pages`, found: 'end of file', code: 'truncated' });
      }
      let kept = 0; // changed pages are compacted to the front of the chunk
      for (let off = 0; off < length; ) {
        skipToPresent();
        const entry = entries[e]!;
        // The pages of this entry that are in this chunk: consecutive addresses, consecutive hash slots.
        const count = Math.min(entry.nrPages - i, (length - off) / pageSize);
        const vaddr = entry.vaddr + i * pageSize;
        const first = builder.addRun(vaddr, count);
        for (let p = 0; p < count; p++) {
          const at = off + p * pageSize;
          hashes[first + p] = h64(chunk.subarray(at, at + pageSize));
        }
        if (cursor !== undefined) {
          for (let p = 0; p < count; p++) {
            const page = vaddr + p * pageSize;
            const j = cursor.indexOf(page);
            const k = first + p;
            if (j >= 0 && newHalves[2 * k] === oldHalves![2 * j] && newHalves[2 * k + 1] === oldHalves![2 * j + 1]) {
              runs.add(page, PE_PARENT);
            } else {
              const at = off + p * pageSize;
              if (kept !== at) chunk.copyWithin(kept, at, at + pageSize);
              kept += pageSize;
              changedPages++;
              runs.add(page, entry.flags);
            }
          }
        }
        off += count * pageSize;
        i += count;
        if (i === entry.nrPages) {
          e++;
          i = 0;
        }
      }
      if (output !== undefined && kept > 0) writeFull(output, buffer, kept, written);
      written += kept;
      position += length;
      sinceYield += length;
      if (sinceYield >= YIELD_EVERY_BYTES) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    skipToPresent();
    return { builder, entries: runs.entries, changedPages: cursor === undefined ? proc.pages : changedPages };
  } finally {
    closeSync(input);
    if (output !== undefined) closeSync(output);
    giveBack(buffer);
  }
}

// The new pagemap's entries, built page by page: consecutive pages with the same flags extend one entry.
class RunList {
  readonly entries: PagemapEntry[] = [];
  private last: PagemapEntry | undefined;

  constructor(private readonly pageSize: number) {}

  add(vaddr: number, flags: number): void {
    const last = this.last;
    if (last !== undefined && last.flags === flags && last.vaddr + last.nrPages * this.pageSize === vaddr && last.nrPages < 0xffffffff) {
      last.nrPages++;
      return;
    }
    this.last = { vaddr, nrPages: 1, flags };
    this.entries.push(this.last);
  }

  /** Copies an entry unchanged (never merged with its neighbours). */
  copy(entry: PagemapEntry): void {
    this.entries.push({ ...entry });
    this.last = undefined;
  }
}
