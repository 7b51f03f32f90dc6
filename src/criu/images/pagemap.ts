// pagemap-PID.img: which page runs of a task were dumped, and where their contents are.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageError, ioError } from './errors.js';
import { PAGEMAP_FORMAT, decodeEntry, entryReader, joinEntries, readImageBytes, splitEntries } from './framing.js';
import { has, types, u32Field, u64Exact, u64Safe } from './schema.js';

/** The run's pages are in the parent image directory (incremental dumps). */
export const PE_PARENT = 1;
/** The run may be restored lazily (CRIU sets it on anonymous private memory even in plain dumps). */
export const PE_LAZY = 2;
/** The run's pages are in this directory's pages-<pagesId>.img, back to back in entry order. */
export const PE_PRESENT = 4;

// One run of consecutive pages of a task's memory.
export interface PagemapEntry {
  /** Start address; a number because every page-aligned address is exact in a double. */
  vaddr: number;
  nrPages: number;
  /** PE_* bits; CRIU images without a flags field get PE_PARENT or PE_PRESENT from in_parent. */
  flags: number;
}

/** Where an image keeps each run's page count: field 2 as a u32 (CRIU ≤ 4.1) or field 5 as a u64 (CRIU 4.2+). */
export type PagemapCountField = 'u32' | 'u64';

// A decoded pagemap image: the pages image it points to, and its runs in file order.
export interface Pagemap {
  pagesId: number;
  entries: PagemapEntry[];
  /** The layout the image was written in; encoding keeps it, so a rewritten image stays in its CRIU's dialect. Default 'u32'. */
  countField?: PagemapCountField;
}

// Decodes a pagemap image (CRIU ≤ 4.1 and 4.2 count encodings); throws ImageError on anything malformed.
export function decodePagemap(bytes: Uint8Array, label: string): Pagemap {
  const spans = splitEntries(bytes, label, PAGEMAP_FORMAT);
  const [headSpan, ...entrySpans] = spans;
  if (headSpan === undefined) {
    throw new ImageError({
      file: label,
      offset: bytes.length,
      expected: 'a pagemap head entry',
      found: 'end of file',
      code: 'truncated',
    });
  }
  const reader = entryReader(bytes, false);
  const head = decodeEntry(types.pagemapHead, reader, headSpan, label, 'pagemap head');
  const entries: PagemapEntry[] = new Array(entrySpans.length);
  let countField: PagemapCountField = 'u32';
  let i = 0;
  for (const span of entrySpans) {
    const m = decodeEntry(types.pagemapEntry, reader, span, label, 'pagemap entry');
    const vaddr = u64Exact(m['vaddr'], { file: label, offset: span.start, field: 'vaddr' });
    let nrPages: number;
    // CRIU 4.2 writes the u64 count in field 5 and 0 in field 2: field 5 wins when present.
    if (has(m, 'nr_pages_u64')) {
      nrPages = u64Safe(m['nr_pages_u64'], { file: label, offset: span.start, field: 'nr_pages (field 5)' });
      countField = 'u64';
    } else if (has(m, 'nr_pages')) nrPages = u32Field(m, 'nr_pages', label, span.start);
    else {
      throw new ImageError({
        file: label,
        offset: span.start,
        expected: 'nr_pages (field 2 or 5) in the pagemap entry',
        found: 'neither',
        code: 'missing-field',
      });
    }
    const flags = has(m, 'flags')
      ? u32Field(m, 'flags', label, span.start)
      : m['in_parent'] === true
        ? PE_PARENT
        : PE_PRESENT;
    entries[i++] = { vaddr, nrPages, flags };
  }
  return { pagesId: u32Field(head, 'pages_id', label, headSpan.start), entries, countField };
}

// Checks a number fits an unsigned wire field before encoding (protobufjs would wrap it silently).
function checkUint(value: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer in [0, ${max}], got ${value}`);
  }
}

// Encodes a pagemap image the way CRIU writes it: flags in field 4, in_parent only on PE_PARENT runs, and the count
// in field 2 (CRIU 4.1) or in field 5 with field 2 at 0 (CRIU 4.2), as pagemap.countField says.
export function encodePagemap(pagemap: Pagemap): Uint8Array {
  const u64Count = pagemap.countField === 'u64';
  checkUint(pagemap.pagesId, 0xffffffff, 'pagesId');
  const messages: Uint8Array[] = [types.pagemapHead.encode({ pages_id: pagemap.pagesId }).finish()];
  for (const [i, e] of pagemap.entries.entries()) {
    if (!Number.isInteger(e.vaddr) || e.vaddr < 0 || e.vaddr >= 2 ** 64) {
      throw new RangeError(`entries[${i}].vaddr must be an integer in [0, 2^64), got ${e.vaddr}`);
    }
    // The ≤ 4.1 layout has only a u32 count; a bigger run must be split by the caller.
    checkUint(e.nrPages, u64Count ? Number.MAX_SAFE_INTEGER : 0xffffffff, `entries[${i}].nrPages`);
    checkUint(e.flags, 0xffffffff, `entries[${i}].flags`);
    const fields: Record<string, number | boolean> = u64Count
      ? { vaddr: e.vaddr, nr_pages: 0, flags: e.flags, nr_pages_u64: e.nrPages }
      : { vaddr: e.vaddr, nr_pages: e.nrPages, flags: e.flags };
    // CRIU 4.1 itself writes in_parent only on holes; readers older than flags rely on it.
    if ((e.flags & PE_PARENT) !== 0) fields['in_parent'] = true;
    messages.push(types.pagemapEntry.encode(fields).finish());
  }
  return joinEntries(PAGEMAP_FORMAT, messages);
}

// Pages stored in this directory's pages-<pagesId>.img: the sum over PE_PRESENT runs.
export function presentPages(pagemap: Pagemap): number {
  let pages = 0;
  for (const e of pagemap.entries) if ((e.flags & PE_PRESENT) !== 0) pages += e.nrPages;
  return pages;
}

// Reads and decodes one pagemap file.
export async function readPagemapFile(path: string): Promise<Pagemap> {
  return decodePagemap(await readImageBytes(path), path);
}

// A per-task pagemap file found in a dump directory.
export interface PagemapFile {
  pid: number;
  path: string;
}

// Lists DIR's per-task pagemap-PID.img files (not pagemap-shmem-*), sorted by pid.
export async function listPagemapFiles(dir: string): Promise<PagemapFile[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw ioError(dir, err);
  }
  const files: PagemapFile[] = [];
  for (const name of names) {
    const match = /^pagemap-(\d+)\.img$/.exec(name);
    if (match) files.push({ pid: Number(match[1]), path: join(dir, name) });
  }
  return files.sort((a, b) => a.pid - b.pid);
}
