import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DumpStats, RestoreStats } from '../../../src/model/stats.js';
import { ImageError } from '../../../src/criu/images/errors.js';
import {
  decodeStats,
  encodeDumpStats,
  encodeRestoreStats,
  readStatsDir,
  readStatsFile,
} from '../../../src/criu/images/stats.js';
import { bytes, entry, expectImageError, hex, lfield, u32, vfield } from './bytes.js';

const HEAD = [...u32(0x55105940), ...u32(0x57093306)];

// stats-dump written by CRIU 4.1.1 for a `setsid sleep` on this machine, byte by byte.
const REAL_STATS_DUMP = hex(`
  40 59 10 55  06 33 09 57      # IMG_SERVICE_MAGIC, STATS_MAGIC
  21 00 00 00                   # 33-byte stats_entry
  0a 1f                         # field 1 (dump), 31 bytes
  08 51        # 1 freezing_time 81
  10 c9 98 01  # 2 frozen_time 19529
  18 d1 01     # 3 memdump_time 209
  20 56        # 4 memwrite_time 86
  28 39        # 5 pages_scanned 57
  30 00        # 6 pages_skipped_parent 0
  38 1e        # 7 pages_written 30
  40 00        # 8 irmap_resolve 0
  48 00        # 9 pages_lazy 0
  50 06        # 10 page_pipes 6
  58 06        # 11 page_pipe_bufs 6
  60 00 68 00 70 00  # 12-14 shpages_* 0
`);

const REAL_DUMP: DumpStats = {
  freezing_time: 81,
  frozen_time: 19529,
  memdump_time: 209,
  memwrite_time: 86,
  pages_scanned: 57,
  pages_skipped_parent: 0,
  pages_written: 30,
  irmap_resolve: 0,
  pages_lazy: 0,
  page_pipes: 6,
  page_pipe_bufs: 6,
  shpages_scanned: 0,
  shpages_skipped_parent: 0,
  shpages_written: 0,
};

const MIN_DUMP: DumpStats = {
  freezing_time: 1,
  frozen_time: 2,
  memdump_time: 3,
  memwrite_time: 4,
  pages_scanned: 5,
  pages_skipped_parent: 6,
  pages_written: 7,
};

const MIN_RESTORE: RestoreStats = { pages_compared: 1, pages_skipped_cow: 2, forking_time: 3, restore_time: 4 };

const DUMP_NUMBERS: [keyof DumpStats, number, 'u32' | 'u64'][] = [
  ['freezing_time', 1, 'u32'],
  ['frozen_time', 2, 'u32'],
  ['memdump_time', 3, 'u32'],
  ['memwrite_time', 4, 'u32'],
  ['pages_scanned', 5, 'u64'],
  ['pages_skipped_parent', 6, 'u64'],
  ['pages_written', 7, 'u64'],
  ['irmap_resolve', 8, 'u32'],
  ['pages_lazy', 9, 'u64'],
  ['page_pipes', 10, 'u64'],
  ['page_pipe_bufs', 11, 'u64'],
  ['shpages_scanned', 12, 'u64'],
  ['shpages_skipped_parent', 13, 'u64'],
  ['shpages_written', 14, 'u64'],
];

const RESTORE_NUMBERS: [keyof RestoreStats, number, 'u32' | 'u64'][] = [
  ['pages_compared', 1, 'u64'],
  ['pages_skipped_cow', 2, 'u64'],
  ['forking_time', 3, 'u32'],
  ['restore_time', 4, 'u32'],
  ['pages_restored', 5, 'u64'],
];

// A stats image built by hand: outer field (1 dump / 2 restore) holding the given varint fields.
function handStats(outer: 1 | 2, fields: [number, number | bigint][]): Uint8Array {
  const inner = fields.flatMap(([f, v]) => vfield(f, v));
  return bytes(HEAD, entry(lfield(outer, inner)));
}

// The field numbers CRIU always writes: stats_entry.dump 1-7, stats_entry.restore 1-4.
const DUMP_REQUIRED = [1, 2, 3, 4, 5, 6, 7];
const RESTORE_REQUIRED = [1, 2, 3, 4];

// Field numbers `numbers`, each with value `value(number)` (0 unless given).
function numbered(numbers: readonly number[], value: (field: number) => number = () => 0): [number, number][] {
  return numbers.map((f) => [f, value(f)]);
}

describe('decodeStats on hand-written bytes', () => {
  it('decodes the real CRIU 4.1.1 stats-dump, every field', () => {
    expect(decodeStats(REAL_STATS_DUMP, 'stats-dump')).toEqual({ kind: 'dump', dump: REAL_DUMP });
  });

  it('encodeDumpStats writes exactly those bytes back', () => {
    expect([...encodeDumpStats(REAL_DUMP)]).toEqual([...REAL_STATS_DUMP]);
  });

  it.each(DUMP_NUMBERS)('dump field %s is number %i (%s)', (name, number, width) => {
    const value = width === 'u32' ? 0xfffffffe : Number.MAX_SAFE_INTEGER - 1;
    const required = numbered(DUMP_REQUIRED.filter((f) => f !== number));
    const got = decodeStats(handStats(1, [...required, [number, value]]), 'stats-dump');
    expect(got.kind).toBe('dump');
    if (got.kind === 'dump') expect(got.dump[name]).toBe(value);
  });

  it.each(RESTORE_NUMBERS)('restore field %s is number %i (%s)', (name, number, width) => {
    const value = width === 'u32' ? 0xfffffffe : 2 ** 40 + 3;
    const required = numbered(RESTORE_REQUIRED.filter((f) => f !== number));
    const got = decodeStats(handStats(2, [...required, [number, value]]), 'stats-restore');
    expect(got.kind).toBe('restore');
    if (got.kind === 'restore') expect(got.restore[name]).toBe(value);
  });

  // Fields 1-7 holding 1-7 decode to MIN_DUMP, with no key for an optional field CRIU did not write.
  it.each([
    ['leaves optional fields out when CRIU did not write them', []],
    ['ignores fields a newer CRIU adds', [[99, 5]]],
  ] satisfies [string, [number, number][]][])('%s', (_, extra) => {
    const got = decodeStats(handStats(1, [...numbered(DUMP_REQUIRED, (f) => f), ...extra]), 's');
    expect(got).toEqual({ kind: 'dump', dump: MIN_DUMP });
    expect(Object.keys(got.kind === 'dump' ? got.dump : {})).toHaveLength(7);
  });
});

describe('decodeStats errors', () => {
  it('a u64 above 2^53-1 is bad-message naming the field and its exact value', () => {
    const img = handStats(1, [...numbered(DUMP_REQUIRED.slice(0, 6)), [7, 2n ** 64n - 1n]]);
    const err = expectImageError(() => decodeStats(img, 'stats-dump'), {
      code: 'bad-message',
      file: 'stats-dump',
      offset: 12,
    });
    expect(err.message).toMatch(/pages_written.*found 18446744073709551615/);
    const edge = handStats(1, [...numbered([1, 2, 3, 4]), [5, 2n ** 53n - 1n], [6, 0], [7, 2n ** 53n]]);
    expectImageError(() => decodeStats(edge, 's'), { code: 'bad-message', message: /pages_written/ });
  });

  // The last required field left out: the error names it (offset 12: the entry, after magics and length).
  it.each([
    ['dump', 1, DUMP_REQUIRED, /pages_written/],
    ['restore', 2, RESTORE_REQUIRED, /restore_time/],
  ] as const)('a missing required %s field is missing-field', (_, outer, required, message) => {
    const img = handStats(outer, numbered(required.slice(0, -1)));
    expectImageError(() => decodeStats(img, 's'), { code: 'missing-field', offset: 12, message });
  });

  it('an entry with neither dump nor restore is missing-field; with both, bad-message', () => {
    expectImageError(() => decodeStats(bytes(HEAD, entry([])), 's'), { code: 'missing-field', offset: 12 });
    const dump = lfield(
      1,
      DUMP_REQUIRED.flatMap((f) => vfield(f, 0)),
    );
    const restore = lfield(
      2,
      RESTORE_REQUIRED.flatMap((f) => vfield(f, 0)),
    );
    expectImageError(() => decodeStats(bytes(HEAD, entry([...dump, ...restore])), 's'), {
      code: 'bad-message',
      message: /found both/,
    });
  });

  it('a pagemap magic where the stats magic should be is bad-magic', () => {
    expectImageError(() => decodeStats(bytes(u32(0x54564319), u32(0x56084025), entry([])), 'stats-dump'), {
      code: 'bad-magic',
      offset: 0,
    });
  });

  it('truncation at every length of the real file is truncated, never anything else', () => {
    for (let n = 0; n < REAL_STATS_DUMP.length; n++) {
      expectImageError(() => decodeStats(REAL_STATS_DUMP.subarray(0, n), 'stats-dump'), {
        code: 'truncated',
        file: 'stats-dump',
      });
    }
  });

  it('trailing garbage is bad-length', () => {
    expectImageError(() => decodeStats(bytes([...REAL_STATS_DUMP], [0, 0]), 's'), { code: 'bad-length', offset: 45 });
  });

  it('a length prefix shorter than the message leaves trailing bytes: bad-length', () => {
    const short = Uint8Array.from(REAL_STATS_DUMP);
    short[8] = 0x20;
    expect(() => decodeStats(short, 's')).toThrow(ImageError);
  });
});

describe('encode round trips', () => {
  it('dump with only required fields, and with all of them', () => {
    for (const stats of [
      MIN_DUMP,
      REAL_DUMP,
      { ...REAL_DUMP, pages_written: Number.MAX_SAFE_INTEGER, memwrite_time: 0xffffffff },
    ]) {
      expect(decodeStats(encodeDumpStats(stats), 'x')).toEqual({ kind: 'dump', dump: stats });
    }
  });

  it('restore, with and without pages_restored', () => {
    for (const stats of [MIN_RESTORE, { ...MIN_RESTORE, pages_restored: 12345 }]) {
      expect(decodeStats(encodeRestoreStats(stats), 'x')).toEqual({ kind: 'restore', restore: stats });
    }
  });

  it('refuses values the wire fields cannot hold', () => {
    expect(() => encodeDumpStats({ ...MIN_DUMP, frozen_time: 2 ** 32 })).toThrow(RangeError);
    expect(() => encodeDumpStats({ ...MIN_DUMP, pages_written: -1 })).toThrow(RangeError);
    expect(() => encodeDumpStats({ ...MIN_DUMP, pages_written: 1.5 })).toThrow(RangeError);
    expect(() => encodeDumpStats({ ...MIN_DUMP, pages_written: 2 ** 53 })).toThrow(RangeError);
    const { pages_written: _, ...noWritten } = MIN_DUMP;
    expect(() => encodeDumpStats(noWritten as DumpStats)).toThrow(/pages_written is required/);
  });
});

describe('reading stats from a directory', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'remusd-stats-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('an empty directory has neither', async () => {
    const empty = join(dir, 'empty');
    await mkdir(empty);
    expect(await readStatsDir(empty)).toEqual({});
  });

  it('reads stats-dump and stats-restore', async () => {
    const d = join(dir, 'both');
    await mkdir(d);
    await writeFile(join(d, 'stats-dump'), REAL_STATS_DUMP);
    expect(await readStatsDir(d)).toEqual({ dump: REAL_DUMP });
    await writeFile(join(d, 'stats-restore'), encodeRestoreStats(MIN_RESTORE));
    expect(await readStatsDir(d)).toEqual({ dump: REAL_DUMP, restore: MIN_RESTORE });
    expect(await readStatsFile(join(d, 'stats-restore'))).toEqual({ kind: 'restore', restore: MIN_RESTORE });
  });

  it('a corrupt file throws an ImageError naming its path', async () => {
    const d = join(dir, 'corrupt');
    await mkdir(d);
    await writeFile(join(d, 'stats-dump'), REAL_STATS_DUMP.subarray(0, 20));
    const err = await readStatsDir(d).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err).toMatchObject({ code: 'truncated', file: join(d, 'stats-dump'), offset: 12 });
  });

  it('a restore entry in stats-dump is an error', async () => {
    const d = join(dir, 'swapped');
    await mkdir(d);
    await writeFile(join(d, 'stats-dump'), encodeRestoreStats(MIN_RESTORE));
    await expect(readStatsDir(d)).rejects.toMatchObject({ code: 'bad-message', file: join(d, 'stats-dump') });
  });

  it('a missing file given by path is an io error', async () => {
    await expect(readStatsFile(join(dir, 'nope'))).rejects.toMatchObject({ code: 'io', found: 'ENOENT' });
  });
});
