// Page diffing: one pass over a process's pages image that hashes each page and, against the previous
// checkpoint's hashes, keeps only the changed pages and builds the new pagemap's runs.
import { closeSync, openSync } from 'node:fs';
import { at } from '../at.js';
import { ImageError, PE_PARENT, PE_PRESENT, type PagemapEntry } from '../criu/images/index.js';
import { giveBack, takeBuffer } from './buffer-pool.js';
import type { DumpedProcess } from './dump-images.js';
import { HashCursor, ProcessHashesBuilder, type ProcessHashes } from './page-hashes.js';
import { readFull, writeFull } from './raw-io.js';
import { RunList } from './run-list.js';

// What streaming one process's pages produced.
export interface StreamedProcess {
  builder: ProcessHashesBuilder;
  entries: PagemapEntry[];
  /** Pages the process stores in this directory: the changed ones with a previous state, all of them without. */
  changedPages: number;
}

// Whether an entry's pages are in the pages image (PRESENT, and at least one page).
function hasPages(entry: PagemapEntry): boolean {
  return (entry.flags & PE_PRESENT) !== 0 && entry.nrPages !== 0;
}

// The pass yields to the event loop after this many bytes, so timers and I/O callbacks run during a big pass.
const YIELD_EVERY_BYTES = 32 * 1024 * 1024;

export interface StreamOptions {
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
export async function streamPages(proc: DumpedProcess, options: StreamOptions): Promise<StreamedProcess> {
  const { h64, previous, pageSize, chunkBytes } = options;
  const entries = proc.pagemap.entries;
  const builder = new ProcessHashesBuilder(proc.pid, pageSize, proc.pages, entries.length);
  const hashes = builder.hashes;
  const cursor = previous === undefined ? undefined : new HashCursor(previous, pageSize);
  // The hashes seen as 32-bit halves: comparing them allocates nothing (reading a BigUint64Array makes a BigInt).
  const newHalves = new Uint32Array(hashes.buffer, hashes.byteOffset, hashes.length * 2);
  const oldHalves =
    previous === undefined
      ? undefined
      : new Uint32Array(previous.hashes.buffer, previous.hashes.byteOffset, previous.hashes.length * 2);
  const runs = new RunList(pageSize);
  const fileBytes = proc.pages * pageSize;
  let changedPages = 0;
  let e = 0; // entry of the next page
  let i = 0; // page within that entry

  // Moves past entries with no pages in the pages image, copying them to the output as they are.
  const skipToPresent = (): void => {
    for (let entry = entries[e]; entry !== undefined && !hasPages(entry); entry = entries[e]) {
      runs.copy(entry);
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
    for (let position = 0; position < fileBytes;) {
      const length = readFull(input, buffer, Math.min(chunkBytes, fileBytes - position), position);
      if (length === 0 || length % pageSize !== 0) {
        throw new ImageError({
          file: proc.pagesPath,
          offset: position + length,
          expected: `${fileBytes} bytes of whole pages`,
          found: 'end of file',
          code: 'truncated',
        });
      }
      let kept = 0; // changed pages are compacted to the front of the chunk
      for (let off = 0; off < length;) {
        skipToPresent();
        // proc.pages counts the PRESENT entries' pages, so while bytes of the pages file remain, so does an entry.
        const entry = at(entries, e);
        // The pages of this entry that are in this chunk: consecutive addresses, consecutive hash slots.
        const count = Math.min(entry.nrPages - i, (length - off) / pageSize);
        const vaddr = entry.vaddr + i * pageSize;
        const first = builder.addRun(vaddr, count);
        for (let p = 0; p < count; p++) {
          const byte = off + p * pageSize;
          hashes[first + p] = h64(chunk.subarray(byte, byte + pageSize));
        }
        // oldHalves is set whenever cursor is (both come from previous).
        if (cursor !== undefined && oldHalves !== undefined) {
          for (let p = 0; p < count; p++) {
            const page = vaddr + p * pageSize;
            const j = cursor.indexOf(page);
            const k = first + p;
            if (j >= 0 && newHalves[2 * k] === oldHalves[2 * j] && newHalves[2 * k + 1] === oldHalves[2 * j + 1]) {
              runs.add(page, PE_PARENT);
            } else {
              const byte = off + p * pageSize;
              if (kept !== byte) chunk.copyWithin(kept, byte, byte + pageSize);
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
