// The hash state of a delta checkpoint, saved beside its images so that a restarted supervisor can continue
// the chain instead of starting a new one with a full checkpoint. Loading trusts nothing: the caller's
// rewrite checks the loaded state against the directory (checkState) before using it as a parent.
//
// Layout of remusd-page-hashes.bin (little-endian):
//   "RMSDHASH" | u32 version (1) | u32 header length | header (JSON) | padding to 8 | per process, in header
//   order: runVaddr (f64 × runs) | runPages (u32 × runs, padded to 8) | hashes (u64 × pages)
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { errorMessage, errorText } from '../fs/error-code.js';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import { firstIssue } from '../units/zod-issue.js';
import { PageHashes, type ProcessHashes } from './page-hashes.js';

/** The file name of a checkpoint's saved hash state. */
export const HASHES_FILE = 'remusd-page-hashes.bin';
const MAGIC = 'RMSDHASH';
/**
 * The largest state loaded: 8 bytes a page, so 1 GiB covers 512 GiB of workload memory at 4 KiB pages. The
 * file is in a directory that may have been copied from anywhere: read without a bound, a link to /dev/zero
 * grew the process by ~100 MiB a second and never returned (1.1 GB after 10 s), and a FIFO never returned.
 */
const HASHES_MAX_BYTES = 1 << 30;
const VERSION = 1;

// The JSON header: the checkpoint's name and page size, and per process its sizes and the identity of its files
// (bigints as decimal strings, the pagemap digest in hex, as encodeHashes writes them).
const wholeNumber = z.number().int().nonnegative();
const headerSchema = z.object({
  name: z.string(),
  pageSize: z.number().int(),
  processes: z.array(
    z.object({
      pid: wholeNumber,
      runs: wholeNumber,
      pages: wholeNumber,
      pagemapDigest: z.string().regex(/^[0-9a-f]{1,16}$/),
      pagesId: wholeNumber,
      stamp: z.object({
        dev: z.string().regex(/^\d+$/),
        ino: z.string().regex(/^\d+$/),
        size: z.string().regex(/^\d+$/),
        mtimeNs: z.string().regex(/^-?\d+$/),
      }),
    }),
  ),
});
type Header = z.infer<typeof headerSchema>;

const pad8 = (n: number) => (n + 7) & ~7;

/** Encodes a hash state (pure). */
export function encodeHashes(state: PageHashes): Uint8Array {
  const header: Header = {
    name: state.name,
    pageSize: state.pageSize,
    processes: state.processes.map((p) => ({
      pid: p.pid,
      runs: p.runVaddr.length,
      pages: p.hashes.length,
      pagemapDigest: p.pagemapDigest.toString(16),
      pagesId: p.pages.pagesId,
      stamp: {
        dev: String(p.pages.stamp.dev),
        ino: String(p.pages.stamp.ino),
        size: String(p.pages.stamp.size),
        mtimeNs: String(p.pages.stamp.mtimeNs),
      },
    })),
  };
  const json = Buffer.from(JSON.stringify(header));
  const start = pad8(16 + json.length);
  const total = state.processes.reduce(
    (sum, p) => sum + p.runVaddr.byteLength + pad8(p.runPages.byteLength) + p.hashes.byteLength,
    start,
  );
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(VERSION, 8);
  out.writeUInt32LE(json.length, 12);
  json.copy(out, 16);
  let at = start;
  for (const p of state.processes) {
    for (const array of [p.runVaddr, p.runPages, p.hashes]) {
      out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
      at += pad8(array.byteLength);
    }
  }
  return out;
}

/** Decodes a hash state; throws an Error naming what is wrong (the caller reports it as a reason). */
export function decodeHashes(bytes: Uint8Array, label: string): PageHashes {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fail = (what: string) => new Error(`${label}: ${what}`);
  if (buf.length < 16 || buf.toString('latin1', 0, 8) !== MAGIC) throw fail('not a remusd hash state (bad magic)');
  if (buf.readUInt32LE(8) !== VERSION) throw fail(`unknown version ${buf.readUInt32LE(8)} (expected ${VERSION})`);
  const jsonLength = buf.readUInt32LE(12);
  if (16 + jsonLength > buf.length) throw fail('truncated header');
  let json: unknown;
  try {
    json = JSON.parse(buf.toString('utf8', 16, 16 + jsonLength));
  } catch (error) {
    throw fail(`unreadable header (${errorMessage(error)})`);
  }
  const parsed = headerSchema.safeParse(json);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error, json);
    throw fail(`malformed header: ${issue.key === '' ? '' : `${issue.key}: `}${issue.message}`);
  }
  const header = parsed.data;
  let at = pad8(16 + jsonLength);
  // Copies out of the file's buffer: typed arrays need aligned offsets, and the state outlives the read.
  const take = <T>(count: number, width: number, make: (b: ArrayBuffer) => T): T => {
    const bytesWanted = count * width;
    if (at + bytesWanted > buf.length) throw fail('truncated arrays');
    const copy = new ArrayBuffer(bytesWanted);
    new Uint8Array(copy).set(buf.subarray(at, at + bytesWanted));
    at += pad8(bytesWanted);
    return make(copy);
  };
  const processes: ProcessHashes[] = header.processes.map((p) => ({
    pid: p.pid,
    runVaddr: take(p.runs, 8, (b) => new Float64Array(b)),
    runPages: take(p.runs, 4, (b) => new Uint32Array(b)),
    hashes: take(p.pages, 8, (b) => new BigUint64Array(b)),
    pagemapDigest: BigInt(`0x${p.pagemapDigest}`),
    pages: {
      pagesId: p.pagesId,
      stamp: {
        dev: BigInt(p.stamp.dev),
        ino: BigInt(p.stamp.ino),
        size: BigInt(p.stamp.size),
        mtimeNs: BigInt(p.stamp.mtimeNs),
      },
    },
  }));
  if (at !== buf.length) throw fail(`${buf.length - at} bytes of trailing data`);
  return new PageHashes(header.name, header.pageSize, processes);
}

/** Saves a checkpoint's hash state into its directory (temporary name, fsync, rename). */
export async function saveHashes(state: PageHashes, dir: string): Promise<void> {
  const path = join(dir, HASHES_FILE);
  const temp = `${path}.tmp`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(encodeHashes(state));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, path);
}

/** Loads a checkpoint's saved hash state, or says why there is none to use. */
export async function loadHashes(
  dir: string,
): Promise<{ ok: true; state: PageHashes } | { ok: false; reason: string }> {
  const path = join(dir, HASHES_FILE);
  let bytes: Buffer;
  try {
    bytes = await readRegularFile(path, HASHES_MAX_BYTES);
  } catch (error) {
    return {
      ok: false,
      reason:
        error instanceof FileReadError && error.code !== 'ENOENT'
          ? `saved page hashes unusable: ${error.message}`
          : `no saved page hashes in ${dir} (${error instanceof FileReadError ? error.code : errorText(error)})`,
    };
  }
  try {
    return { ok: true, state: decodeHashes(bytes, path) };
  } catch (error) {
    return { ok: false, reason: errorMessage(error) };
  }
}
