import { describe, expect, it } from 'vitest';
import {
  CRIU_IMAGES_V1,
  CRIU_IMAGES_V1_1,
  decodeInventory,
  encodeInventory,
  type Inventory,
} from '../../../src/criu/images/inventory.js';
import { bytes, entry, expectImageError, hex, lfield, u32, vfield } from './bytes.js';

const MAGIC = u32(0x58313116);

// inventory.img as CRIU 4.1.1 wrote it for `setsid sleep` on this machine, byte by byte.
const REAL_INVENTORY = hex(`
  16 31 31 58                 # INVENTORY_MAGIC (no common head magic)
  4e 00 00 00                 # 78-byte inventory_entry
  08 02                       # 1 img_version 2 (CRIU_IMAGES_V1_1)
  10 01                       # 2 fdinfo_per_id true
  1a 18                       # 3 root_ids, 24 bytes:
    08 01 10 01 18 01 20 01 28 01 30 02 38 03 40 04 48 06 50 07 58 08 60 05
  20 01                       # 4 ns_per_id true
  28 01                       # 5 root_cg_set 1
  30 00                       # 6 lsmtype NO_LSM
  58 00                       # 11 network_lock_method 0 (iptables)
  62 00                       # 12 plugins_entry, empty
  6a 24                       # 13 dump_criu_run_id, 36 chars
    38 30 62 33 31 33 38 32 2d 33 35 35 33 2d 34 39 62 33 2d
    61 66 34 36 2d 37 32 35 34 30 34 64 39 32 31 34 65
`);

const ROOT_IDS = [
  0x08, 0x01, 0x10, 0x01, 0x18, 0x01, 0x20, 0x01, 0x28, 0x01, 0x30, 0x02, 0x38, 0x03, 0x40, 0x04, 0x48, 0x06, 0x50,
  0x07, 0x58, 0x08, 0x60, 0x05,
];

const REAL: Inventory = {
  imgVersion: 2,
  fdinfoPerId: true,
  rootIds: Uint8Array.from(ROOT_IDS),
  nsPerId: true,
  rootCgSet: 1,
  lsmtype: 0,
  networkLockMethod: 0,
  plugins: [],
  dumpCriuRunId: '80b31382-3553-49b3-af46-725404d9214e',
};

// An inventory image with img_version 2 and the given extra raw field bytes.
function withFields(...fields: number[][]): Uint8Array {
  return bytes(MAGIC, entry([...vfield(1, 2), ...fields.flat()]));
}

describe('decodeInventory', () => {
  it('decodes the real CRIU 4.1.1 inventory.img', () => {
    const got = decodeInventory(REAL_INVENTORY, 'inventory.img');
    expect(got).toEqual(REAL);
    expect(got.rootIds).toBeInstanceOf(Uint8Array);
    expect(got.unknownFields).toBeUndefined();
  });

  it('encodeInventory writes the same bytes back', () => {
    expect([...encodeInventory(decodeInventory(REAL_INVENTORY, 'x'))]).toEqual([...REAL_INVENTORY]);
  });

  it.each<[string, number[], Partial<Inventory>]>([
    ['fdinfo_per_id (2)', vfield(2, 1), { fdinfoPerId: true }],
    ['root_ids (3)', lfield(3, [0x08, 0x05]), { rootIds: Uint8Array.of(0x08, 0x05) }],
    ['ns_per_id (4)', vfield(4, 0), { nsPerId: false }],
    ['root_cg_set (5)', vfield(5, 0xffffffff), { rootCgSet: 0xffffffff }],
    ['lsmtype (6)', vfield(6, 2), { lsmtype: 2 }],
    ['dump_uptime (8)', vfield(8, 2 ** 50 + 1), { dumpUptime: 2 ** 50 + 1 }],
    ['pre_dump_mode (9)', vfield(9, 2), { preDumpMode: 2 }],
    ['tcp_close (10)', vfield(10, 1), { tcpClose: true }],
    ['network_lock_method (11)', vfield(11, 1), { networkLockMethod: 1 }],
    ['plugins_entry (12)', lfield(12, [...lfield(12, [0x61]), ...lfield(12, [0x62, 0x63])]), { plugins: ['a', 'bc'] }],
    ['dump_criu_run_id (13)', lfield(13, [0x78, 0x79]), { dumpCriuRunId: 'xy' }],
    ['allow_uprobes (14)', vfield(14, 1), { allowUprobes: true }],
  ])('field %s', (_name, field, want) => {
    const img = withFields(field);
    const got = decodeInventory(img, 'i');
    expect(got).toEqual({ imgVersion: 2, ...want });
    expect([...encodeInventory(got)]).toEqual([...img]);
  });

  it('accepts both image versions CRIU defines and nothing else', () => {
    expect(decodeInventory(bytes(MAGIC, entry(vfield(1, CRIU_IMAGES_V1))), 'i').imgVersion).toBe(1);
    expect(decodeInventory(bytes(MAGIC, entry(vfield(1, CRIU_IMAGES_V1_1))), 'i').imgVersion).toBe(2);
    for (const v of [0, 3, 0xffffffff]) {
      const err = expectImageError(() => decodeInventory(bytes(MAGIC, entry(vfield(1, v))), 'inventory.img'), {
        code: 'unknown-version',
        file: 'inventory.img',
        offset: 8,
      });
      expect(err.found).toBe(`${v}`);
    }
  });

  it('a missing img_version is missing-field', () => {
    expectImageError(() => decodeInventory(bytes(MAGIC, entry(vfield(2, 1))), 'i'), {
      code: 'missing-field',
      message: /img_version/,
    });
  });

  it('a dump_uptime above 2^53-1 is bad-message', () => {
    expectImageError(() => decodeInventory(withFields(vfield(8, 2n ** 60n)), 'i'), {
      code: 'bad-message',
      message: /dump_uptime/,
    });
  });

  it('a common head magic in front (v1.1 images other than inventory) is bad-magic', () => {
    expectImageError(() => decodeInventory(bytes(u32(0x54564319), MAGIC, entry(vfield(1, 2))), 'i'), {
      code: 'bad-magic',
      offset: 0,
    });
  });

  it('a second entry is bad-length', () => {
    expectImageError(() => decodeInventory(bytes(MAGIC, entry(vfield(1, 2)), entry(vfield(1, 2))), 'i'), {
      code: 'bad-length',
      offset: 10,
    });
  });

  it('keeps fields it does not know and writes them back', () => {
    const unknown = [...vfield(15, 1), ...lfield(17, [0x67, 0x65, 0x6e]), ...vfield(7, 9)];
    const img = withFields(vfield(2, 1), unknown);
    const got = decodeInventory(img, 'i');
    expect(got.fdinfoPerId).toBe(true);
    expect(got.unknownFields?.map((u) => [...u])).toEqual([
      vfield(15, 1),
      lfield(17, [0x67, 0x65, 0x6e]),
      vfield(7, 9),
    ]);
    const again = encodeInventory(got);
    expect([...again]).toEqual([...img]);
    expect(decodeInventory(again, 'i')).toEqual(got);
  });

  it('copies bytes out of the input buffer', () => {
    const img = Uint8Array.from(REAL_INVENTORY);
    const got = decodeInventory(img, 'i');
    img.fill(0);
    expect([...got.rootIds!]).toEqual(ROOT_IDS);
  });
});

describe('encodeInventory', () => {
  it('distinguishes no plugin list from an empty one', () => {
    expect([...encodeInventory({ imgVersion: 2 })]).toEqual([...bytes(MAGIC, entry([0x08, 0x02]))]);
    expect([...encodeInventory({ imgVersion: 2, plugins: [] })]).toEqual([
      ...bytes(MAGIC, entry([0x08, 0x02, 0x62, 0x00])),
    ]);
  });

  it('round-trips every field', () => {
    const all: Inventory = {
      ...REAL,
      dumpUptime: 123456789012,
      preDumpMode: 1,
      tcpClose: false,
      allowUprobes: true,
      plugins: ['amdgpu_plugin', 'cuda_plugin'],
      unknownFields: [Uint8Array.from(vfield(20, 3))],
    };
    expect(decodeInventory(encodeInventory(all), 'x')).toEqual(all);
  });

  it('refuses values that do not fit', () => {
    expect(() => encodeInventory({ imgVersion: -1 })).toThrow(RangeError);
    expect(() => encodeInventory({ imgVersion: 2, rootCgSet: 2 ** 32 })).toThrow(/rootCgSet/);
    expect(() => encodeInventory({ imgVersion: 2, dumpUptime: 2 ** 53 })).toThrow(/dumpUptime/);
    expect(() => encodeInventory({} as Inventory)).toThrow(/imgVersion/);
  });
});
