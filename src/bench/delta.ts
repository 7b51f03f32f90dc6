// Bench: the software-delta pass over a 256 MiB pages image (in page cache), beside merely reading that image
// in the same run, and the hash state's memory per page.
import {
  closeSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from 'simple-statistics';
import { PE_LAZY, PE_PRESENT, encodePagemap, type PagemapEntry } from '../criu/images/pagemap.js';
import { loadHasher } from '../delta/page-hashes.js';
import { DEFAULT_CHUNK_BYTES, rewriteAsDelta } from '../delta/rewrite.js';
import { at } from '../at.js';
import { type BenchRow } from './harness.js';

const BENCH = 'delta';
const PAGE = 4096;
const IMAGE_MIB = 256;
const PAGES = (IMAGE_MIB * 1024 * 1024) / PAGE;
/** Share of pages the second dump changes (a busy 2 %, like 5k pages/s at 100 ms intervals on 1 GiB). */
const CHANGED_EVERY = 50;
const WARMUP = 3;
const RUNS = 9;

// Where the images go: tmpfs when there is one (as a checkpoint root on /dev/shm would be), else the temp dir.
function benchRoot(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'remusd-bench-delta-'));
}

// Writes a one-process full dump: entries of 256 pages (as CRIU splits them), every page distinct; pages whose
// index is a multiple of CHANGED_EVERY get other contents when `changed`.
function writeDump(dir: string, changed: boolean): void {
  mkdirSync(dir, { recursive: true });
  const entries: PagemapEntry[] = [];
  for (let p = 0; p < PAGES; p += 256)
    entries.push({ vaddr: 0x7f00_0000_0000 + p * PAGE, nrPages: 256, flags: PE_PRESENT | PE_LAZY });
  writeFileSync(join(dir, 'pagemap-4242.img'), encodePagemap({ pagesId: 1, entries }));
  const chunk = Buffer.alloc(16 * 1024 * 1024);
  for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((i * 2654435761) >>> 0, i);
  const fd = openSync(join(dir, 'pages-1.img'), 'w');
  try {
    const perChunk = chunk.length / PAGE;
    for (let first = 0; first < PAGES; first += perChunk) {
      for (let i = 0; i < perChunk; i++) {
        const page = first + i;
        chunk.writeUInt32LE(page, i * PAGE);
        chunk.writeUInt32LE(changed && page % CHANGED_EVERY === 0 ? 1 : 0, i * PAGE + 4);
      }
      for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off, chunk.length - off);
    }
  } finally {
    closeSync(fd);
  }
}

// Times one call (ms).
async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

// GB/s for the 256 MiB image processed in `ms`.
function gbps(ms: number): number {
  return (PAGES * PAGE) / (ms / 1000) / 1e9;
}

// A throughput row (higher is better): target met when at least `min` GB/s and at least half the baseline.
function throughputRow(name: string, ms: number, baseline: { name: string; ms: number }, minGbps: number): BenchRow {
  const value = gbps(ms);
  const base = gbps(baseline.ms);
  return {
    bench: BENCH,
    name,
    unit: 'GB/s',
    value,
    baseline: { name: baseline.name, value: base },
    ratio: value / base,
    target: `≥ ${minGbps} GB/s and ≥ 0.5× baseline`,
    pass: value >= minGbps && value >= 0.5 * base,
  };
}

// Runs the measurements and returns their rows.
export async function run(): Promise<BenchRow[]> {
  const root = benchRoot();
  try {
    const parentDir = join(root, 'a');
    const fullDir = join(root, 'full-b');
    const dir = join(root, 'b');
    writeDump(parentDir, false);
    writeDump(fullDir, true);
    const pagesPath = join(parentDir, 'pages-1.img');

    // Baseline: reading the pages image in chunks into one reused buffer, as the delta pass reads it.
    const reused = Buffer.allocUnsafeSlow(DEFAULT_CHUNK_BYTES);
    const readReused = (): void => {
      const fd = openSync(pagesPath, 'r');
      try {
        while (readSync(fd, reused, 0, reused.length, null) > 0);
      } finally {
        closeSync(fd);
      }
    };

    // Hashing alone on one core: h64 per page over a 1 MiB in-memory buffer (cache-warm), no I/O.
    const h64 = await loadHasher();
    const hashes = new BigUint64Array(PAGES);
    const memory = new Uint8Array(DEFAULT_CHUNK_BYTES).fill(7);
    const perChunk = DEFAULT_CHUNK_BYTES / PAGE;
    const hashOnly = (): void => {
      for (let p = 0; p < PAGES; p++) {
        const off = (p % perChunk) * PAGE;
        hashes[p] = h64(memory.subarray(off, off + PAGE));
      }
    };

    // The pass with no parent (hash every page: what the first checkpoint of a chain costs), which also gives
    // the state the delta pass compares against.
    const first = await rewriteAsDelta({ dir: parentDir, name: 'a' });
    const noParent = () => rewriteAsDelta({ dir: parentDir, name: 'a' });

    // The full delta pass: hash, compare with a's state, write the 2 % changed pages and the new pagemap.
    // Each run starts from the full dump again (hard links, outside the timing).
    const reset = (): void => {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      for (const f of ['pagemap-4242.img', 'pages-1.img']) linkSync(join(fullDir, f), join(dir, f));
    };
    let changedPages = 0;
    const withParent = async (): Promise<void> => {
      const result = await rewriteAsDelta({ dir, name: 'b', parentName: 'a', previous: first.hashes });
      if (!result.parentUsed) throw new Error(`bench delta used no parent: ${result.reason}`);
      changedPages = result.changedPages;
    };

    // Rounds interleave every measurement, so the noise of this shared machine hits them alike; the first
    // rounds only warm up (V8 optimises the per-page loop after a few passes, as in a long remusd run).
    const times: Record<'read' | 'hash' | 'noParent' | 'parent', number[]> = {
      read: [],
      hash: [],
      noParent: [],
      parent: [],
    };
    let cpuMs = 0;
    for (let round = 0; round < WARMUP + RUNS; round++) {
      const read = await timed(readReused);
      const hash = await timed(hashOnly);
      const plain = await timed(noParent);
      reset();
      const cpu = process.cpuUsage();
      const parent = await timed(withParent);
      const used = process.cpuUsage(cpu);
      if (round < WARMUP) continue;
      times.read.push(read);
      times.hash.push(hash);
      times.noParent.push(plain);
      times.parent.push(parent);
      cpuMs += (used.user + used.system) / 1000;
    }
    const cores = cpuMs / times.parent.reduce((a, b) => a + b, 0);
    // readFileSync allocates a fresh 256 MiB buffer each time: timed a few times only, after the rest.
    const wholeTimes: number[] = [];
    for (let i = 0; i < 3; i++) wholeTimes.push(await timed(() => readFileSync(pagesPath)));
    const readWhole = median(wholeTimes);

    const readBaseline = { name: `read into a reused ${DEFAULT_CHUNK_BYTES >> 20} MiB buffer`, ms: median(times.read) };
    const bytesPerPage = first.hashes.byteSize / first.hashes.totalPages;
    return [
      throughputRow(`h64 per 4 KiB page, in memory (one core, no I/O)`, median(times.hash), readBaseline, 1.5),
      throughputRow(
        `delta pass, no parent (hash ${IMAGE_MIB} MiB pages image)`,
        median(times.noParent),
        readBaseline,
        1.5,
      ),
      throughputRow(
        `delta pass, parent (${changedPages} of ${PAGES} pages changed; ${cores.toFixed(2)} cores busy)`,
        median(times.parent),
        readBaseline,
        1.5,
      ),
      throughputRow(
        `delta pass, parent (same), against readFileSync`,
        median(times.parent),
        { name: 'readFileSync (fresh buffer)', ms: readWhole },
        1.5,
      ),
      {
        bench: BENCH,
        name: `hash state memory (${first.hashes.totalPages} pages, ${at(first.hashes.processes, 0).runVaddr.length} runs)`,
        unit: 'B/page',
        value: bytesPerPage,
        target: '≤ 16 B/page',
        pass: bytesPerPage <= 16,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
