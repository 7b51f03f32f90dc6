// Bench: decoding a real-sized stats-dump and a 10k-entry pagemap, each beside reading the same file from disk.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DumpStats } from '../model/stats.js';
import { decodeStats, encodeDumpStats } from '../criu/images/stats.js';
import { PE_LAZY, PE_PRESENT, decodePagemap, encodePagemap, type PagemapEntry } from '../criu/images/pagemap.js';
import { compareRow, timePerCall, type BenchRow } from './harness.js';

const BENCH = 'decode-stats';

// Numbers of the size CRIU 4.1.1 reported for a 263 MiB process here (every field written, as it does).
const STATS: DumpStats = {
  freezing_time: 1_204,
  frozen_time: 243_817,
  memdump_time: 61_022,
  memwrite_time: 187_455,
  pages_scanned: 67_912,
  pages_skipped_parent: 0,
  pages_written: 67_433,
  irmap_resolve: 0,
  pages_lazy: 0,
  page_pipes: 38,
  page_pipe_bufs: 151,
  shpages_scanned: 0,
  shpages_skipped_parent: 0,
  shpages_written: 0,
};

const PAGEMAP_ENTRIES = 10_000;

// A pagemap shaped like a fragmented heap: runs of 1-16 pages with gaps, high user-space addresses.
function bigPagemap(): Uint8Array {
  const entries: PagemapEntry[] = [];
  let vaddr = 0x7f00_0000_0000;
  for (let i = 0; i < PAGEMAP_ENTRIES; i++) {
    const nrPages = 1 + ((i * 7) % 16);
    entries.push({ vaddr, nrPages, flags: i % 3 === 0 ? PE_PRESENT : PE_PRESENT | PE_LAZY });
    vaddr += (nrPages + 1 + (i % 5)) * 4096;
  }
  return encodePagemap({ pagesId: 1, entries });
}

// Runs the two comparisons and returns their rows.
export async function run(): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(tmpdir(), 'remusd-bench-'));
  try {
    const statsPath = join(dir, 'stats-dump');
    writeFileSync(statsPath, encodeDumpStats(STATS));
    const statsBytes = readFileSync(statsPath);
    const decode = timePerCall(() => decodeStats(statsBytes, statsPath), { iterations: 100_000, batches: 10 });
    const read = timePerCall(() => readFileSync(statsPath), { iterations: 20_000, batches: 10 });

    const pagemapPath = join(dir, 'pagemap-1.img');
    writeFileSync(pagemapPath, bigPagemap());
    const pagemapBytes = readFileSync(pagemapPath);
    const decodePm = timePerCall(() => decodePagemap(pagemapBytes, pagemapPath), {
      iterations: 200,
      batches: 10,
      warmup: 20,
    });
    const readPm = timePerCall(() => readFileSync(pagemapPath), { iterations: 2_000, batches: 10 });

    return [
      compareRow({
        bench: BENCH,
        name: `decodeStats (${statsBytes.length}-byte stats-dump, 100k×)`,
        unit: 'µs/op',
        value: decode.medianNs / 1000,
        baseline: { name: 'readFileSync of it', value: read.medianNs / 1000 },
        target: { text: '< 50 µs/op', max: 50 },
      }),
      compareRow({
        bench: BENCH,
        name: `decodePagemap (${PAGEMAP_ENTRIES} entries, ${pagemapBytes.length} bytes)`,
        unit: 'ns/entry',
        value: decodePm.medianNs / PAGEMAP_ENTRIES,
        baseline: { name: 'readFileSync of it', value: readPm.medianNs / PAGEMAP_ENTRIES },
      }),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
