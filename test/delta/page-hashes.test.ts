// The per-page hash state: run building, lookups by address, its memory per page, and the directory check.
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PE_PRESENT } from '../../src/criu/images/index.js';
import {
  HashCursor,
  PageHashes,
  ProcessHashesBuilder,
  checkState,
  loadHasher,
  rewriteAsDelta,
} from '../../src/delta/index.js';
import { PAGE, pageOf, writeDump } from './synthetic.js';

const STAMP = { dev: 0n, ino: 0n, size: 0n, mtimeNs: 0n };

// Builds a state from (vaddr, hash) pairs in order.
function stateOf(pages: [number, bigint][], maxRuns = pages.length): ReturnType<ProcessHashesBuilder['finish']> {
  const builder = new ProcessHashesBuilder(7, PAGE, pages.length, maxRuns);
  for (const [vaddr, hash] of pages) builder.hashes[builder.addRun(vaddr, 1)] = hash;
  return builder.finish(0n, { pagesId: 1, stamp: STAMP });
}

describe('ProcessHashesBuilder and HashCursor', () => {
  it('merges consecutive pages into runs and finds the hash of each page by address, gaps excluded', () => {
    const state = stateOf([
      [0x1000, 1n],
      [0x2000, 2n],
      [0x3000, 3n],
      [0x8000, 8n],
      [0x9000, 9n],
      [0x20000, 32n],
    ]);
    expect([...state.runVaddr]).toEqual([0x1000, 0x8000, 0x20000]);
    expect([...state.runPages]).toEqual([3, 2, 1]);
    const cursor = new HashCursor(state, PAGE);
    const got = [0x0, 0x1000, 0x3000, 0x4000, 0x7000, 0x8000, 0x9000, 0xa000, 0x20000, 0x21000].map((v) =>
      cursor.indexOf(v),
    );
    expect(got).toEqual([-1, 0, 2, -1, -1, 3, 4, -1, 5, -1]);
    expect(got.map((j) => (j < 0 ? undefined : state.hashes[j]))).toEqual([
      undefined,
      1n,
      3n,
      undefined,
      undefined,
      8n,
      9n,
      undefined,
      32n,
      undefined,
    ]);
  });

  it('merges a run that continues the previous one, as when a CRIU entry is split over two chunks', () => {
    const builder = new ProcessHashesBuilder(7, PAGE, 5, 3);
    expect(builder.addRun(0x10000, 2)).toBe(0);
    expect(builder.addRun(0x12000, 1)).toBe(2);
    expect(builder.addRun(0x20000, 2)).toBe(3);
    const state = builder.finish(0n, { pagesId: 1, stamp: STAMP });
    expect([...state.runVaddr]).toEqual([0x10000, 0x20000]);
    expect([...state.runPages]).toEqual([3, 2]);
  });

  it('refuses pages out of order and a state with pages missing', () => {
    const builder = new ProcessHashesBuilder(7, PAGE, 2, 2);
    builder.addRun(0x5000, 1);
    expect(() => builder.addRun(0x4000, 1)).toThrow(RangeError);
    expect(() => builder.addRun(0x8000, 2)).toThrow(/more than 2 pages/);
    expect(() => builder.finish(0n, { pagesId: 1, stamp: STAMP })).toThrow(/1 of 2 pages hashed/);
  });

  it('costs 8 bytes per page plus 12 per run (under 16 bytes per page once runs average 3+ pages)', () => {
    const pages: [number, bigint][] = [];
    for (let r = 0; r < 100; r++) for (let i = 0; i < 10; i++) pages.push([(r * 20 + i) * PAGE, BigInt(r * 10 + i)]);
    const hashes = new PageHashes('x', PAGE, [{ ...stateOf(pages), pid: 1 }]);
    expect(hashes.totalPages).toBe(1000);
    expect(hashes.byteSize).toBe(1000 * 8 + 100 * 12);
    expect(hashes.byteSize / hashes.totalPages).toBeLessThanOrEqual(16);
  });
});

describe('loadHasher', () => {
  it('is xxh64 with seed 0 (the reference value of the empty input)', async () => {
    const h64 = await loadHasher();
    expect(h64(new Uint8Array(0))).toBe(0xef46db3751d8e999n);
    expect(h64(pageOf(1))).not.toBe(h64(pageOf(2)));
  });
});

describe('checkState', () => {
  let root = '';
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'remusd-hashes-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('accepts the directory the state was taken from, and notices a touched pages image', async () => {
    await writeDump(join(root, 'a'), [
      { pid: 3, pagesId: 1, entries: [{ vaddr: 0x10000, flags: PE_PRESENT, seeds: [1, 2] }] },
    ]);
    const { hashes } = await rewriteAsDelta({ dir: join(root, 'a'), name: 'a' });
    expect(await checkState(hashes, join(root, 'a'))).toEqual({ ok: true });
    expect(await checkState(hashes, join(root, 'b'))).toEqual({
      ok: false,
      reason: 'previous state describes checkpoint a, not b',
    });
    await utimes(join(root, 'a', 'pages-1.img'), new Date(), new Date(2000, 1, 1));
    expect(await checkState(hashes, join(root, 'a'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/pages-1\.img was replaced or rewritten/),
    });
  });
});
