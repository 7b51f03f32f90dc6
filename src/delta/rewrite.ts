// Software deltas: rewrites a full `criu dump --leave-running` as a native CRIU incremental image set against
// the previous checkpoint, by comparing each page's hash with the previous checkpoint's page at that address.
import { rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { at } from '../at.js';
import { encodePagemap } from '../criu/images/index.js';
import { readDump, readShmem, type ShmemReport } from './dump-images.js';
import { streamPages, type StreamedProcess } from './page-diff.js';
import { PageHashes, fileStamp, loadHasher, type ProcessHashes } from './page-hashes.js';
import { decideParent, type ParentRequest } from './parent.js';

export const DEFAULT_PAGE_SIZE = 4096;
/** Bytes read per step into one reused buffer (small enough that the pages are hashed while still in cache). */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;

export interface RewriteOptions extends ParentRequest {
  /** The new full dump: CRIU's finished output, still in the partial directory the caller renames afterwards. */
  dir: string;
  /** The name the checkpoint will have once renamed (recorded in the returned state's identity). */
  name: string;
  pageSize?: number;
  chunkBytes?: number;
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
  const previous = decision.ok ? decision.previous : undefined;
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
    // The parent this checkpoint links to, if it is used.
    let parentName = decision.ok ? decision.parentName : undefined;
    let reason = decision.ok ? '' : decision.reason;
    if (parentName !== undefined && changedPages === totalPages) {
      reason = `every page changed since ${parentName}: kept as a full checkpoint (new chain)`;
      parentName = undefined;
    }

    const processes: ProcessHashes[] = [];
    if (parentName !== undefined) {
      // The link first: a pagemap with PE_PARENT entries must never be visible without it.
      await symlink(`../${parentName}`, join(options.dir, 'parent'));
      for (const [i, proc] of dumped.entries()) {
        const s = at(streamed, i);
        const bytes = encodePagemap({
          pagesId: proc.pagemap.pagesId,
          entries: s.entries,
          countField: proc.pagemap.countField,
        });
        const pagemapTemp = tempPath(proc.pagemapPath);
        temps.push(pagemapTemp);
        await writeFile(pagemapTemp, bytes);
        await rename(tempPath(proc.pagesPath), proc.pagesPath);
        await rename(pagemapTemp, proc.pagemapPath);
        processes.push(
          s.builder.finish(h64(bytes), { pagesId: proc.pagemap.pagesId, stamp: await fileStamp(proc.pagesPath) }),
        );
      }
      reason = `parent ${parentName}: ${totalPages - changedPages} of ${totalPages} pages unchanged`;
    } else {
      for (const [i, proc] of dumped.entries()) {
        processes.push(
          at(streamed, i).builder.finish(h64(proc.pagemapBytes), {
            pagesId: proc.pagemap.pagesId,
            stamp: proc.pagesStamp,
          }),
        );
      }
    }
    return {
      hashes: new PageHashes(options.name, pageSize, processes),
      totalPages,
      changedPages,
      parentUsed: parentName !== undefined,
      reason,
      processes: dumped.map((p, i) => ({
        pid: p.pid,
        totalPages: p.pages,
        changedPages: at(streamed, i).changedPages,
      })),
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
