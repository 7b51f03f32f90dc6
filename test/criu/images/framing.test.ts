import { describe, expect, it } from 'vitest';
import {
  INVENTORY_FORMAT,
  MAX_ENTRY_BYTES,
  PAGEMAP_FORMAT,
  STATS_FORMAT,
  decodeEntry,
  entryReader,
  joinEntries,
  readImageBytes,
  splitEntries,
} from '../../../src/criu/images/framing.js';
import { ImageError } from '../../../src/criu/images/errors.js';
import { types } from '../../../src/criu/images/schema.js';
import { bytes, entry, expectImageError, u32 } from './bytes.js';

const SERVICE = u32(0x55105940);
const STATS = u32(0x57093306);
const COMMON = u32(0x54564319);
const PAGEMAP = u32(0x56084025);

describe('magic words', () => {
  it('are written little-endian in the order CRIU writes them', () => {
    expect([...joinEntries(STATS_FORMAT, [Uint8Array.of(0x0a, 0x00)])]).toEqual([
      0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 2, 0, 0, 0, 0x0a, 0x00,
    ]);
    expect([...joinEntries(PAGEMAP_FORMAT, [])]).toEqual([0x19, 0x43, 0x56, 0x54, 0x25, 0x40, 0x08, 0x56]);
    expect([...joinEntries(INVENTORY_FORMAT, [new Uint8Array(0)])]).toEqual([0x16, 0x31, 0x31, 0x58, 0, 0, 0, 0]);
  });

  it('a wrong first word is bad-magic at byte 0, with the word found', () => {
    const err = expectImageError(() => splitEntries(bytes(COMMON, STATS), 'f', STATS_FORMAT), {
      code: 'bad-magic',
      file: 'f',
      offset: 0,
    });
    expect(err.message).toBe('f: at byte 0: expected magic 0x55105940, found 0x54564319');
  });

  it('a wrong second word is bad-magic at byte 4 (a pagemap is not a stats file)', () => {
    expectImageError(() => splitEntries(bytes(COMMON, STATS), 'p', PAGEMAP_FORMAT), { code: 'bad-magic', offset: 4 });
  });

  it('a short file that matches so far is truncated; one that does not is bad-magic', () => {
    expectImageError(() => splitEntries(new Uint8Array(0), 's', STATS_FORMAT), { code: 'truncated', offset: 0 });
    expectImageError(() => splitEntries(bytes(SERVICE, STATS.slice(0, 3)), 's', STATS_FORMAT), {
      code: 'truncated',
      offset: 4,
      message: /found end of file after 3 bytes/,
    });
    expectImageError(() => splitEntries(bytes([0x40, 0x58]), 's', STATS_FORMAT), { code: 'bad-magic', offset: 0 });
  });
});

describe('length prefixes', () => {
  it('splits a common image into entries until end of file', () => {
    const img = bytes(COMMON, PAGEMAP, entry([1, 2]), entry([]), entry([3]));
    expect(splitEntries(img, 'p', PAGEMAP_FORMAT)).toEqual([
      { prefix: 8, start: 12, length: 2 },
      { prefix: 14, start: 18, length: 0 },
      { prefix: 18, start: 22, length: 1 },
    ]);
    expect(splitEntries(bytes(COMMON, PAGEMAP), 'p', PAGEMAP_FORMAT)).toEqual([]);
  });

  it('a partial length prefix is truncated at its offset', () => {
    const err = expectImageError(() => splitEntries(bytes(SERVICE, STATS, [0x21, 0x00]), 'stats-dump', STATS_FORMAT), {
      code: 'truncated',
      offset: 8,
    });
    expect(err.message).toBe('stats-dump: at byte 8: expected a u32 length prefix, found end of file after 2 bytes');
  });

  it('a single-entry image with no entry at all is truncated', () => {
    expectImageError(() => splitEntries(bytes(SERVICE, STATS), 's', STATS_FORMAT), {
      code: 'truncated',
      offset: 8,
      message: /u32 length prefix, found end of file$/,
    });
  });

  it('a prefix longer than the bytes left is truncated at the message start', () => {
    expectImageError(() => splitEntries(bytes(COMMON, PAGEMAP, u32(10), [1, 2, 3]), 'p', PAGEMAP_FORMAT), {
      code: 'truncated',
      offset: 12,
      message: /expected a 10-byte pagemap entry, found end of file after 3 bytes/,
    });
  });

  it('an absurd prefix is bad-length at the prefix', () => {
    expectImageError(() => splitEntries(bytes(COMMON, PAGEMAP, u32(MAX_ENTRY_BYTES + 1)), 'p', PAGEMAP_FORMAT), {
      code: 'bad-length',
      offset: 8,
    });
    expectImageError(() => splitEntries(bytes(COMMON, PAGEMAP, u32(0xffffffff)), 'p', PAGEMAP_FORMAT), {
      code: 'bad-length',
    });
  });

  it('bytes after the one entry of a single-entry image are bad-length', () => {
    expectImageError(() => splitEntries(bytes(SERVICE, STATS, entry([0x0a, 0x00]), [0]), 's', STATS_FORMAT), {
      code: 'bad-length',
      offset: 14,
      message: /expected end of file after the stats entry, found 1 more bytes/,
    });
  });

  it('joinEntries refuses a single-entry image with other than one message', () => {
    expect(() => joinEntries(STATS_FORMAT, [])).toThrow(RangeError);
  });
});

describe('decodeEntry', () => {
  it('names the field a message lacks, at the message start', () => {
    const img = bytes(COMMON, PAGEMAP, entry([0x10, 0x01]));
    const [span] = splitEntries(img, 'p', PAGEMAP_FORMAT);
    expectImageError(() => decodeEntry(types.pagemapEntry, entryReader(img, false), span!, 'p', 'pagemap entry'), {
      code: 'missing-field',
      offset: 12,
      message: /expected field vaddr in the pagemap entry/,
    });
  });

  it('wraps protobufjs errors (bad wire type, overrun) as bad-message inside the entry', () => {
    // Field 1 with wire type 7 does not exist.
    const bad = bytes(COMMON, PAGEMAP, entry([0x0f, 0x00]));
    const [span] = splitEntries(bad, 'p', PAGEMAP_FORMAT);
    const err = expectImageError(
      () => decodeEntry(types.pagemapEntry, entryReader(bad, false), span!, 'p', 'pagemap entry'),
      {
        code: 'bad-message',
      },
    );
    expect(err.offset).toBeGreaterThanOrEqual(12);
    expect(err.offset).toBeLessThanOrEqual(14);
    // A varint that runs past the entry's end (but not past the file's).
    const overrun = bytes(COMMON, PAGEMAP, entry([0x08, 0x80]), entry([0x08, 0x01]));
    const [first] = splitEntries(overrun, 'p', PAGEMAP_FORMAT);
    expectImageError(() => decodeEntry(types.pagemapEntry, entryReader(overrun, false), first!, 'p', 'pagemap entry'), {
      code: 'bad-message',
      offset: 14,
    });
  });

  it('decodes entries one after another with one reader', () => {
    const img = bytes(COMMON, PAGEMAP, entry([0x08, 0x05]), entry([0x08, 0x06, 0x10, 0x01]));
    const reader = entryReader(img, false);
    const [a, b] = splitEntries(img, 'p', PAGEMAP_FORMAT);
    expect(decodeEntry(types.pagemapHead, reader, a!, 'p', 'head')['pages_id']).toBe(5);
    expect(Number(decodeEntry(types.pagemapEntry, reader, b!, 'p', 'entry')['vaddr'])).toBe(6);
  });
});

describe('readImageBytes', () => {
  it('a missing file is an io ImageError naming the path', async () => {
    const err = await readImageBytes('/nonexistent/remusd/stats-dump').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect(err).toMatchObject({ code: 'io', file: '/nonexistent/remusd/stats-dump', found: 'ENOENT' });
  });
});
