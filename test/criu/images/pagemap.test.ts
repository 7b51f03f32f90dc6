import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PE_LAZY,
  PE_PARENT,
  PE_PRESENT,
  decodePagemap,
  encodePagemap,
  listPagemapFiles,
  presentPages,
  readPagemapFile,
  type Pagemap,
} from '../../../src/criu/images/pagemap.js';
import { bytes, entry, expectImageError, hex, u32, vfield } from './bytes.js';

const HEAD = [...u32(0x54564319), ...u32(0x56084025)];

// The first three entries of a pagemap CRIU 4.1.1 wrote for `setsid sleep`, byte by byte.
const REAL_PAGEMAP = hex(`
  19 43 56 54  25 40 08 56                   # IMG_COMMON_MAGIC, PAGEMAP_MAGIC
  02 00 00 00  08 01                         # head: pages_id 1
  0c 00 00 00  08 80 80 a3 90 a9 c2 15  10 01  20 04   # vaddr, nr_pages 1, flags PRESENT
  0c 00 00 00  08 80 e0 a4 90 a9 c2 15  10 02  20 04   # nr_pages 2, PRESENT
  0c 00 00 00  08 80 c0 fb a6 ac c2 15  10 04  20 06   # nr_pages 4, PRESENT|LAZY
`);

const REAL: Pagemap = {
  pagesId: 1,
  entries: [
    { vaddr: 0x5612_9208_c000, nrPages: 1, flags: PE_PRESENT },
    { vaddr: 0x5612_9209_3000, nrPages: 2, flags: PE_PRESENT },
    { vaddr: 0x5612_c4de_e000, nrPages: 4, flags: PE_PRESENT | PE_LAZY },
  ],
  countField: 'u32',
};

// A pagemap built by hand from varint fields per entry.
function handPagemap(pagesId: number, entries: [number, number | bigint][][]): Uint8Array {
  return bytes(
    HEAD,
    entry(vfield(1, pagesId)),
    ...entries.map((fields) => entry(fields.flatMap(([f, v]) => vfield(f, v)))),
  );
}

describe('decodePagemap', () => {
  it('decodes real CRIU 4.1.1 bytes', () => {
    const got = decodePagemap(REAL_PAGEMAP, 'pagemap-1.img');
    expect(got).toEqual(REAL);
    expect(got.pagesId).toBe(1);
    expect(got.entries.map((e) => [e.vaddr.toString(16), e.nrPages, e.flags])).toEqual([
      ['56129208c000', 1, 4],
      ['561292093000', 2, 4],
      ['5612c4dee000', 4, 6],
    ]);
  });

  it('encodePagemap writes those bytes back exactly', () => {
    expect([...encodePagemap(decodePagemap(REAL_PAGEMAP, 'x'))]).toEqual([...REAL_PAGEMAP]);
  });

  it('field 1 is vaddr, 2 nr_pages, 4 flags', () => {
    const got = decodePagemap(
      handPagemap(7, [
        [
          [1, 0x7000],
          [2, 3],
          [4, PE_PARENT],
        ],
      ]),
      'p',
    );
    expect(got).toEqual({ pagesId: 7, entries: [{ vaddr: 0x7000, nrPages: 3, flags: PE_PARENT }], countField: 'u32' });
  });

  it('without flags, in_parent (field 3) picks PE_PARENT, else PE_PRESENT', () => {
    const got = decodePagemap(
      handPagemap(1, [
        [
          [1, 0x1000],
          [2, 1],
          [3, 1],
        ],
        [
          [1, 0x2000],
          [2, 1],
          [3, 0],
        ],
        [
          [1, 0x3000],
          [2, 1],
        ],
      ]),
      'p',
    );
    expect(got.entries.map((e) => e.flags)).toEqual([PE_PARENT, PE_PRESENT, PE_PRESENT]);
  });

  it('flags, when written, win over in_parent', () => {
    const got = decodePagemap(
      handPagemap(1, [
        [
          [1, 0x1000],
          [2, 1],
          [3, 1],
          [4, PE_PRESENT],
        ],
      ]),
      'p',
    );
    expect(got.entries[0]!.flags).toBe(PE_PRESENT);
  });

  it('CRIU 4.2: the u64 count in field 5 wins over field 2 (then 0)', () => {
    const got = decodePagemap(
      handPagemap(1, [
        [
          [1, 0x1000],
          [2, 0],
          [4, 4],
          [5, 2 ** 33],
        ],
        [
          [1, 0x9000],
          [4, 4],
          [5, 9],
        ],
      ]),
      'p',
    );
    expect(got.entries.map((e) => e.nrPages)).toEqual([2 ** 33, 9]);
  });

  it('no count at all is missing-field at the entry', () => {
    expectImageError(
      () =>
        decodePagemap(
          handPagemap(1, [
            [
              [1, 0x1000],
              [4, 4],
            ],
          ]),
          'p',
        ),
      {
        code: 'missing-field',
        offset: 18,
        message: /nr_pages/,
      },
    );
  });

  it('no vaddr is missing-field; no pages_id in the head is missing-field', () => {
    expectImageError(() => decodePagemap(handPagemap(1, [[[2, 1]]]), 'p'), { code: 'missing-field', message: /vaddr/ });
    expectImageError(() => decodePagemap(bytes(HEAD, entry([])), 'p'), {
      code: 'missing-field',
      offset: 12,
      message: /pages_id/,
    });
  });

  it('keeps page-aligned addresses above 2^53 exact; rejects ones a double would round', () => {
    const top = decodePagemap(
      handPagemap(1, [
        [
          [1, 2n ** 64n - 4096n],
          [2, 1],
        ],
      ]),
      'p',
    );
    expect(top.entries[0]!.vaddr).toBe(2 ** 64 - 4096);
    expect([...encodePagemap(top)]).toEqual([
      ...handPagemap(1, [
        [
          [1, 2n ** 64n - 4096n],
          [2, 1],
          [4, PE_PRESENT],
        ],
      ]),
    ]);
    expectImageError(
      () =>
        decodePagemap(
          handPagemap(1, [
            [
              [1, 2n ** 53n + 1n],
              [2, 1],
            ],
          ]),
          'p',
        ),
      { code: 'bad-message', message: /vaddr/ },
    );
  });

  it('a file with only the magic has no head: truncated', () => {
    expectImageError(() => decodePagemap(bytes(HEAD), 'p'), { code: 'truncated', offset: 8, message: /pagemap head/ });
  });

  it('a head and no entries is an empty pagemap', () => {
    expect(decodePagemap(bytes(HEAD, entry(vfield(1, 3))), 'p')).toEqual({
      pagesId: 3,
      entries: [],
      countField: 'u32',
    });
  });

  it('every truncation of the real bytes is a truncated ImageError (entries end on entry boundaries only)', () => {
    const boundaries = new Set([14, 30, 46, 62]);
    for (let n = 0; n < REAL_PAGEMAP.length; n++) {
      if (boundaries.has(n))
        expect(decodePagemap(REAL_PAGEMAP.subarray(0, n), 'p').entries).toHaveLength((n - 14) / 16);
      else expectImageError(() => decodePagemap(REAL_PAGEMAP.subarray(0, n), 'p'), { code: 'truncated', file: 'p' });
    }
  });
});

describe('encodePagemap', () => {
  it('writes CRIU 4.1 layout: in_parent true only on PE_PARENT runs, flags always', () => {
    const img = encodePagemap({
      pagesId: 2,
      entries: [
        { vaddr: 0x1000, nrPages: 2, flags: PE_PARENT },
        { vaddr: 0x3000, nrPages: 1, flags: PE_PRESENT | PE_LAZY },
      ],
    });
    expect([...img]).toEqual([
      ...HEAD,
      ...[2, 0, 0, 0, 0x08, 0x02],
      ...[9, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x02, 0x18, 0x01, 0x20, 0x01],
      ...[7, 0, 0, 0, 0x08, 0x80, 0x60, 0x10, 0x01, 0x20, 0x06],
    ]);
  });

  it('round-trips decode → encode → decode', () => {
    const p: Pagemap = {
      pagesId: 0xffffffff,
      entries: [
        { vaddr: 0, nrPages: 0, flags: 0 },
        { vaddr: 0x7fff_ffff_f000, nrPages: 0xffffffff, flags: PE_PARENT | PE_LAZY },
        { vaddr: 0x4000, nrPages: 12, flags: PE_PRESENT },
      ],
      countField: 'u32',
    };
    expect(decodePagemap(encodePagemap(p), 'x')).toEqual(p);
  });

  it('keeps CRIU 4.2 layout: field 2 at 0 and the count in field 5, counts above 2^32 included', () => {
    const p: Pagemap = {
      pagesId: 1,
      entries: [
        { vaddr: 0x1000, nrPages: 1, flags: PE_PRESENT },
        { vaddr: 0x8000, nrPages: 2 ** 33, flags: PE_PRESENT | PE_LAZY },
      ],
      countField: 'u64',
    };
    const img = encodePagemap(p);
    expect(decodePagemap(img, 'x')).toEqual(p);
    // Bytes as CRIU 4.2.1 wrote them here: vaddr, nr_pages 0, flags 4, nr_pages_u64 1.
    expect([...img.subarray(14, 14 + 4 + 8)]).toEqual([0x09, 0, 0, 0, 0x08, 0x80, 0x20, 0x10, 0x00, 0x20, 0x04, 0x28]);
  });

  it('refuses what the 4.1 layout cannot hold', () => {
    expect(() => encodePagemap({ pagesId: -1, entries: [] })).toThrow(RangeError);
    expect(() => encodePagemap({ pagesId: 1, entries: [{ vaddr: 0, nrPages: 2 ** 32, flags: 4 }] })).toThrow(/nrPages/);
    expect(() => encodePagemap({ pagesId: 1, entries: [{ vaddr: 2 ** 64, nrPages: 1, flags: 4 }] })).toThrow(/vaddr/);
    expect(() => encodePagemap({ pagesId: 1, entries: [{ vaddr: 0.5, nrPages: 1, flags: 4 }] })).toThrow(/vaddr/);
  });
});

describe('presentPages', () => {
  it('sums the runs that carry PE_PRESENT (lazy ones included, parent ones not)', () => {
    expect(presentPages(REAL)).toBe(7);
    expect(
      presentPages({
        pagesId: 1,
        entries: [
          { vaddr: 0, nrPages: 5, flags: PE_PARENT },
          { vaddr: 0x5000, nrPages: 2, flags: PE_PRESENT },
          { vaddr: 0x9000, nrPages: 3, flags: PE_LAZY },
        ],
      }),
    ).toBe(2);
  });
});

describe('pagemap files', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'remusd-pagemap-'));
    for (const name of ['pagemap-12.img', 'pagemap-3.img', 'pagemap-shmem-99.img', 'pages-1.img', 'pagemap-x.img']) {
      await writeFile(join(dir, name), REAL_PAGEMAP);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists per-task pagemaps with their pid, sorted', async () => {
    expect(await listPagemapFiles(dir)).toEqual([
      { pid: 3, path: join(dir, 'pagemap-3.img') },
      { pid: 12, path: join(dir, 'pagemap-12.img') },
    ]);
  });

  it('reads one by path; errors name the path', async () => {
    expect((await readPagemapFile(join(dir, 'pagemap-3.img'))).entries).toHaveLength(3);
    await writeFile(join(dir, 'bad.img'), REAL_PAGEMAP.subarray(0, 20));
    await expect(readPagemapFile(join(dir, 'bad.img'))).rejects.toMatchObject({
      code: 'truncated',
      file: join(dir, 'bad.img'),
    });
    await expect(listPagemapFiles(join(dir, 'none'))).rejects.toMatchObject({ code: 'io', found: 'ENOENT' });
  });
});
