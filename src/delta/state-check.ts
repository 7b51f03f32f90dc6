// The check that a directory still is the checkpoint a hash state describes, before the next delta uses it
// as its parent: a replaced, rewritten or half-deleted checkpoint must never serve as one.
import { readdir } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { at } from '../at.js';
import { readParentLink } from '../fs/parent-link.js';
import {
  PE_PARENT,
  PE_PRESENT,
  decodePagemap,
  listPagemapFiles,
  readImageBytes,
  type Pagemap,
} from '../criu/images/index.js';
import {
  fileStamp,
  loadHasher,
  sameStamp,
  type FileStamp,
  type PageHashes,
  type ProcessHashes,
} from './page-hashes.js';

/** Why a state cannot serve as the parent of the next delta, or that it can. */
export type StateCheck = { ok: true } | { ok: false; reason: string };

// Deepest parent chain followed when checking that a checkpoint's ancestors exist.
const MAX_CHAIN = 100_000;

/**
 * Checks that dir is the checkpoint the state describes: same name, same pids, every pagemap readable and
 * byte-for-byte the one hashed (xxh64 of its bytes), pages images not replaced (dev, inode, size, mtime),
 * every hashed page still covered by the pagemap, and every ancestor its parent links reach still there.
 */
export async function checkState(state: PageHashes, dir: string): Promise<StateCheck> {
  if (basename(resolve(dir)) !== state.name) {
    return { ok: false, reason: `previous state describes checkpoint ${state.name}, not ${basename(resolve(dir))}` };
  }
  let files;
  try {
    files = await listPagemapFiles(dir);
  } catch (err) {
    return { ok: false, reason: `previous checkpoint missing: ${dir} (${describe(err)})` };
  }
  const pids = files.map((f) => f.pid);
  if (pids.join(',') !== state.pids.join(',')) {
    return {
      ok: false,
      reason: `previous state does not match the directory: pids [${state.pids.join(', ')}] hashed, [${pids.join(', ')}] in ${dir}`,
    };
  }
  const h64 = await loadHasher();
  let hasParentEntries = false;
  for (const file of files) {
    // The state's pids were compared equal to the directory's just above, so every file's pid is in it.
    const proc = state.process(file.pid);
    if (proc === undefined) return { ok: false, reason: `previous state has no hashes for pid ${file.pid} of ${dir}` };
    let bytes: Uint8Array;
    let pagemap: Pagemap;
    try {
      bytes = await readImageBytes(file.path);
      pagemap = decodePagemap(bytes, file.path);
    } catch (err) {
      return { ok: false, reason: `previous checkpoint's pagemap is unreadable: ${describe(err)}` };
    }
    if (h64(bytes) !== proc.pagemapDigest) {
      return {
        ok: false,
        reason: `previous state does not match the directory: ${file.path} is not the pagemap that was hashed`,
      };
    }
    const pagesPath = join(dir, `pages-${pagemap.pagesId}.img`);
    let stamp: FileStamp;
    try {
      stamp = await fileStamp(pagesPath);
    } catch (err) {
      return { ok: false, reason: `previous checkpoint's pages image is unreadable: ${describe(err)}` };
    }
    if (pagemap.pagesId !== proc.pages.pagesId || !sameStamp(stamp, proc.pages.stamp)) {
      return {
        ok: false,
        reason: `previous state does not match the directory: ${pagesPath} was replaced or rewritten since it was hashed`,
      };
    }
    const uncovered = firstUncovered(proc, pagemap, state.pageSize);
    if (uncovered !== undefined) {
      return {
        ok: false,
        reason: `previous state does not match the directory: page 0x${uncovered.toString(16)} of pid ${file.pid} is not in ${file.path}`,
      };
    }
    hasParentEntries ||= pagemap.entries.some((e) => (e.flags & PE_PARENT) !== 0);
  }
  if (hasParentEntries) {
    const broken = await brokenAncestor(dir, pids);
    if (broken !== undefined) return { ok: false, reason: `previous checkpoint's parent chain is broken: ${broken}` };
  }
  return { ok: true };
}

// The first hashed page that no PRESENT or PARENT entry of the pagemap covers (CRIU would fail on it).
function firstUncovered(proc: ProcessHashes, pagemap: Pagemap, pageSize: number): number | undefined {
  const covering = pagemap.entries.filter((e) => (e.flags & (PE_PRESENT | PE_PARENT)) !== 0);
  let e = 0;
  for (const [r, start] of proc.runVaddr.entries()) {
    let vaddr = start;
    const end = start + at(proc.runPages, r) * pageSize; // runPages has one slot per run, as runVaddr
    while (vaddr < end) {
      let entry = covering[e];
      while (entry !== undefined && entry.vaddr + entry.nrPages * pageSize <= vaddr) entry = covering[++e];
      if (entry === undefined || entry.vaddr > vaddr) return vaddr;
      vaddr = Math.min(end, entry.vaddr + entry.nrPages * pageSize);
    }
  }
  return undefined;
}

// Follows parent links from dir; says which ancestor is missing a directory or a pid's pagemap, if any.
async function brokenAncestor(dir: string, pids: readonly number[]): Promise<string | undefined> {
  const seen = new Set<string>();
  let current = resolve(dir);
  for (let depth = 0; depth < MAX_CHAIN; depth++) {
    let name: string | undefined;
    try {
      name = await readParentLink(current); // a link out of the store is refused, never followed
    } catch (err) {
      return describe(err);
    }
    if (name === undefined) return depth === 0 ? `${current} has entries in its parent but no parent link` : undefined;
    const parent = join(dirname(current), name);
    if (seen.has(parent)) return `${parent} links back into its own chain`;
    seen.add(parent);
    let names: string[];
    try {
      names = await readdir(parent);
    } catch (err) {
      return `${parent} (parent of ${current}) is missing (${describe(err)})`;
    }
    const missing = pids.filter((pid) => !names.includes(`pagemap-${pid}.img`));
    if (missing.length > 0) return `${parent} has no pagemap for pid ${missing.join(', ')}`;
    current = parent;
  }
  return `more than ${MAX_CHAIN} links`;
}

// One line for an error, for reasons.
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
