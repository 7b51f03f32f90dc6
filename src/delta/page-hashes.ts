// The in-memory per-page hash state of one checkpoint (what the next delta compares against), the identity
// of the directory it describes (the check that a directory still is that checkpoint: state-check.ts).
import { stat } from 'node:fs/promises';
import xxhash from 'xxhash-wasm';
import { ioError } from '../criu/images/index.js';

/** What identifies one file's version: a replaced or rewritten file differs in at least one of these. */
export interface FileStamp {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
}

/** The hashes of one process's dumped pages, and which files they were read from. */
export interface ProcessHashes {
  pid: number;
  /** Start address of each run of consecutive pages, ascending; runs neither overlap nor touch. */
  runVaddr: Float64Array;
  /** Pages in each run. */
  runPages: Uint32Array;
  /** One xxh64 per page, runs back to back in address order. */
  hashes: BigUint64Array;
  /** xxh64 of the bytes of the pagemap-PID.img the checkpoint ended up with (after any rewrite). */
  pagemapDigest: bigint;
  /** pages-<pagesId>.img of the checkpoint as it ended up. */
  pages: { pagesId: number; stamp: FileStamp };
}

/**
 * The content of every page a checkpoint holds for its processes, as one 64-bit hash per page, plus the identity
 * of the checkpoint directory (its name, pids, the digest of each pagemap and the stamp of each pages image), so that a state
 * applied to another or a replaced directory is detected instead of trusted.
 * Memory: 8 bytes per page plus 12 bytes per run of consecutive pages.
 */
export class PageHashes {
  readonly name: string;
  readonly pageSize: number;
  /** Sorted by pid. */
  readonly processes: readonly ProcessHashes[];

  constructor(name: string, pageSize: number, processes: readonly ProcessHashes[]) {
    this.name = name;
    this.pageSize = pageSize;
    this.processes = [...processes].sort((a, b) => a.pid - b.pid);
  }

  /** The pids, ascending. */
  get pids(): number[] {
    return this.processes.map((p) => p.pid);
  }

  /** Pages hashed, over all processes. */
  get totalPages(): number {
    return this.processes.reduce((sum, p) => sum + p.hashes.length, 0);
  }

  /** Bytes held by the hash and run arrays (the part that grows with the process). */
  get byteSize(): number {
    return this.processes.reduce(
      (sum, p) => sum + p.hashes.byteLength + p.runVaddr.byteLength + p.runPages.byteLength,
      0,
    );
  }

  /** The process's state, or undefined. */
  process(pid: number): ProcessHashes | undefined {
    return this.processes.find((p) => p.pid === pid);
  }
}

// The xxhash-wasm instance, created once (WebAssembly compilation is async).
let hasherPromise: Promise<Awaited<ReturnType<typeof xxhash>>> | undefined;

/** xxh64 of a byte range (seed 0), from the shared xxhash-wasm instance. */
export async function loadHasher(): Promise<(bytes: Uint8Array) => bigint> {
  hasherPromise ??= xxhash();
  return (await hasherPromise).h64Raw;
}

/** The stamp of a file (stat with nanosecond times); ImageError 'io' when it cannot be stat'ed. */
export async function fileStamp(path: string): Promise<FileStamp> {
  let s;
  try {
    s = await stat(path, { bigint: true });
  } catch (err) {
    throw ioError(path, err, 'a file that can be stat()ed');
  }
  return { dev: s.dev, ino: s.ino, size: s.size, mtimeNs: s.mtimeNs };
}

/** Whether two stamps name the same version of a file. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs;
}

/**
 * Collects runs and hashes of one process's PRESENT pages in address order, merging runs that follow each
 * other into one. Sized up front from the pagemap, so it never reallocates the hash array.
 */
export class ProcessHashesBuilder {
  readonly hashes: BigUint64Array;
  private readonly vaddrs: Float64Array;
  private readonly pages: Uint32Array;
  private runs = 0;
  private filled = 0;
  private nextVaddr = -1;

  constructor(
    readonly pid: number,
    readonly pageSize: number,
    totalPages: number,
    maxRuns: number,
  ) {
    this.hashes = new BigUint64Array(totalPages);
    this.vaddrs = new Float64Array(maxRuns);
    this.pages = new Uint32Array(maxRuns);
  }

  /**
   * Reserves the hashes of `count` consecutive pages starting at vaddr (above every page reserved before) and
   * returns the index in `hashes` of the first one; the caller stores the hashes there.
   */
  addRun(vaddr: number, count: number): number {
    if (vaddr < this.nextVaddr)
      throw new RangeError(`page 0x${vaddr.toString(16)} of pid ${this.pid} is below the previous one`);
    if (this.filled + count > this.hashes.length)
      throw new RangeError(`pid ${this.pid}: more than ${this.hashes.length} pages`);
    // vaddr === nextVaddr only after a first run (nextVaddr starts at -1), so runs - 1 is a filled slot.
    const lastPages = vaddr === this.nextVaddr ? this.pages[this.runs - 1] : undefined;
    if (lastPages !== undefined && lastPages + count <= 0xffffffff) {
      this.pages[this.runs - 1] = lastPages + count;
    } else {
      this.vaddrs[this.runs] = vaddr;
      this.pages[this.runs] = count;
      this.runs++;
    }
    const first = this.filled;
    this.filled += count;
    this.nextVaddr = vaddr + count * this.pageSize;
    return first;
  }

  /** The finished state, with the identity of the files it ends up in. Every page must have been added. */
  finish(pagemapDigest: bigint, pages: ProcessHashes['pages']): ProcessHashes {
    if (this.filled !== this.hashes.length)
      throw new RangeError(`pid ${this.pid}: ${this.filled} of ${this.hashes.length} pages hashed`);
    // Runs are usually far fewer than the entries they were sized for: copy to the exact length.
    return {
      pid: this.pid,
      runVaddr: this.vaddrs.slice(0, this.runs),
      runPages: this.pages.slice(0, this.runs),
      hashes: this.hashes,
      pagemapDigest,
      pages,
    };
  }
}

/**
 * Walks one process's hashed runs in ascending address order and answers "where is the hash of the page at
 * vaddr?" Queries must come in ascending order (a merge walk: O(pages + runs) for a whole pagemap).
 */
export class HashCursor {
  private run = 0;
  /** Index in hashes of the current run's first page. */
  private base = 0;

  constructor(
    private readonly state: ProcessHashes,
    private readonly pageSize: number,
  ) {}

  /** The index in the state's hashes of the page at vaddr, or -1 when the state has no page there. */
  indexOf(vaddr: number): number {
    const { runVaddr, runPages } = this.state;
    // Hot (once per page of the diff): `!` because this.run < runVaddr.length bounds every read, and the two
    // arrays have one slot per run each.
    // oxlint-disable-next-line typescript/no-non-null-assertion
    while (this.run < runVaddr.length && runVaddr[this.run]! + runPages[this.run]! * this.pageSize <= vaddr) {
      // oxlint-disable-next-line typescript/no-non-null-assertion
      this.base += runPages[this.run]!;
      this.run++;
    }
    if (this.run === runVaddr.length) return -1;
    // oxlint-disable-next-line typescript/no-non-null-assertion
    const start = runVaddr[this.run]!;
    return vaddr < start ? -1 : this.base + (vaddr - start) / this.pageSize;
  }
}
