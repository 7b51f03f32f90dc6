// Reads the bundled dirtier's own state out of a full dump's images, independently of the delta code: its
// buffer pages hold [index, generation, mix(index, generation)], and the sum of generations is its writes count.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PE_PRESENT, readPagemapFile } from '../../src/criu/images/index.js';

const M64 = (1n << 64n) - 1n;

// dirtier.c's mix(), in 64-bit unsigned arithmetic.
export function mix(index: bigint, generation: bigint): bigint {
  let x = ((index * 0x9e3779b97f4a7c15n) & M64) ^ ((generation + 0x632be59bd9b4e019n) & M64);
  x ^= x >> 31n;
  x = (x * 0xbf58476d1ce4e5b9n) & M64;
  x ^= x >> 29n;
  return x;
}

/** One PRESENT page of a pid's pagemap, with its bytes. */
export interface DumpedPage {
  vaddr: number;
  /** Index of the page in the pages image. */
  slot: number;
  bytes: Buffer;
}

/** Every PRESENT page of pid in dir (a full dump or a delta: only the pages stored in dir). */
export async function presentPagesOf(dir: string, pid: number, pageSize = 4096): Promise<DumpedPage[]> {
  const pagemap = await readPagemapFile(join(dir, `pagemap-${pid}.img`));
  const pages = await readFile(join(dir, `pages-${pagemap.pagesId}.img`));
  const out: DumpedPage[] = [];
  let slot = 0;
  for (const e of pagemap.entries) {
    if ((e.flags & PE_PRESENT) === 0) continue;
    for (let i = 0; i < e.nrPages; i++, slot++) {
      out.push({ vaddr: e.vaddr + i * pageSize, slot, bytes: pages.subarray(slot * pageSize, (slot + 1) * pageSize) });
    }
  }
  return out;
}

/** Whether a page is one of the dirtier's buffer pages (its three words agree); its generation if so. */
export function bufferGeneration(page: Buffer, bufferPages: number): bigint | undefined {
  const index = page.readBigUInt64LE(0);
  const generation = page.readBigUInt64LE(8);
  if (index >= BigInt(bufferPages) || generation === 0n) return undefined;
  return page.readBigUInt64LE(16) === mix(index, generation) ? generation : undefined;
}

/** The dirtier's writes counter at the moment of a full dump: the sum of its buffer pages' generations. */
export async function writesAtDump(
  dir: string,
  pid: number,
  bufferPages: number,
): Promise<{ writes: number; bufferPagesFound: number }> {
  let writes = 0n;
  let found = 0;
  for (const page of await presentPagesOf(dir, pid)) {
    const generation = bufferGeneration(page.bytes, bufferPages);
    if (generation === undefined) continue;
    writes += generation;
    found++;
  }
  return { writes: Number(writes), bufferPagesFound: found };
}
