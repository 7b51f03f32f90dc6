// Property tests: every decoder, fed random, truncated, bit-flipped and mis-framed images, either returns a
// value or throws an ImageError naming the file and an offset inside it; nothing else, and never hangs.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { DumpStats, RestoreStats } from '../../../src/model/stats.js';
import { ImageError } from '../../../src/criu/images/errors.js';
import { decodeInventory, encodeInventory, type Inventory } from '../../../src/criu/images/inventory.js';
import { decodePagemap, encodePagemap, type Pagemap } from '../../../src/criu/images/pagemap.js';
import { decodeStats, encodeDumpStats, encodeRestoreStats } from '../../../src/criu/images/stats.js';
import { entry, lfield, u32, vfield } from './bytes.js';

const LABEL = 'fuzz.img';

// Runs in this file, per decoder and kind of input; checked against the 100,000 floor at the end.
const runs = new Map<string, number>();

interface Target {
  name: string;
  decode: (bytes: Uint8Array, label: string) => unknown;
  /** Leading magic words, to aim random bodies past the magic check. */
  magics: number[];
  valid: fc.Arbitrary<Uint8Array>;
  /** Re-encodes a decoded value, when the value is one the encoder accepts. */
  reencode: (value: unknown) => Uint8Array | undefined;
}

const u32Arb = fc.integer({ min: 0, max: 0xffffffff });
const u64Arb = fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.maxSafeNat());

const dumpArb: fc.Arbitrary<DumpStats> = fc.record(
  {
    freezing_time: u32Arb,
    frozen_time: u32Arb,
    memdump_time: u32Arb,
    memwrite_time: u32Arb,
    pages_scanned: u64Arb,
    pages_skipped_parent: u64Arb,
    pages_written: u64Arb,
    irmap_resolve: u32Arb,
    pages_lazy: u64Arb,
    page_pipes: u64Arb,
    page_pipe_bufs: u64Arb,
    shpages_scanned: u64Arb,
    shpages_skipped_parent: u64Arb,
    shpages_written: u64Arb,
  },
  {
    requiredKeys: [
      'freezing_time',
      'frozen_time',
      'memdump_time',
      'memwrite_time',
      'pages_scanned',
      'pages_skipped_parent',
      'pages_written',
    ],
  },
);

const restoreArb: fc.Arbitrary<RestoreStats> = fc.record(
  {
    pages_compared: u64Arb,
    pages_skipped_cow: u64Arb,
    forking_time: u32Arb,
    restore_time: u32Arb,
    pages_restored: u64Arb,
  },
  { requiredKeys: ['pages_compared', 'pages_skipped_cow', 'forking_time', 'restore_time'] },
);

const pagemapArb: fc.Arbitrary<Pagemap> = fc.record({
  pagesId: u32Arb,
  entries: fc.array(
    fc.record({
      vaddr: fc.integer({ min: 0, max: 2 ** 35 - 1 }).map((page) => page * 4096),
      nrPages: fc.oneof(fc.integer({ min: 1, max: 64 }), u32Arb),
      flags: fc.integer({ min: 0, max: 7 }),
    }),
    { maxLength: 12 },
  ),
});

const inventoryArb: fc.Arbitrary<Inventory> = fc.record(
  {
    imgVersion: fc.constantFrom(1, 2),
    fdinfoPerId: fc.boolean(),
    rootIds: fc.uint8Array({ maxLength: 24 }),
    nsPerId: fc.boolean(),
    rootCgSet: u32Arb,
    lsmtype: fc.integer({ min: 0, max: 2 }),
    dumpUptime: u64Arb,
    preDumpMode: fc.integer({ min: 1, max: 2 }),
    tcpClose: fc.boolean(),
    networkLockMethod: fc.integer({ min: 0, max: 2 }),
    plugins: fc.array(fc.string({ maxLength: 8 }), { maxLength: 3 }),
    dumpCriuRunId: fc.uuid(),
    allowUprobes: fc.boolean(),
  },
  { requiredKeys: ['imgVersion'] },
);

const targets: Target[] = [
  {
    name: 'stats',
    decode: decodeStats,
    magics: [0x55105940, 0x57093306],
    valid: fc.oneof(dumpArb.map(encodeDumpStats), restoreArb.map(encodeRestoreStats)),
    reencode: (v) => {
      const s = v as ReturnType<typeof decodeStats>;
      return s.kind === 'dump' ? encodeDumpStats(s.dump) : encodeRestoreStats(s.restore);
    },
  },
  {
    name: 'pagemap',
    decode: decodePagemap,
    magics: [0x54564319, 0x56084025],
    valid: pagemapArb.map(encodePagemap),
    // A 4.2-style count above 2^32-1 cannot be written in the 4.1 layout; skip those.
    reencode: (v) =>
      (v as Pagemap).entries.every((e) => e.nrPages <= 0xffffffff) ? encodePagemap(v as Pagemap) : undefined,
  },
  {
    name: 'inventory',
    decode: decodeInventory,
    magics: [0x58313116],
    valid: inventoryArb.map(encodeInventory),
    reencode: (v) => encodeInventory(v as Inventory),
  },
];

// Decodes with no stack traces captured: most of the ~135k inputs end in an ImageError (often wrapping one of
// protobufjs), and capturing a stack cost ~12 µs per error (node 20: 100k errors 1.5 s, 0.2-0.4 s without).
// Anything but an ImageError is a bug: the (deterministic) decoder runs again with stacks, to throw it whole.
function decodeWithoutStacks(target: Target, input: Uint8Array): { value: unknown } | { error: ImageError } {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return { value: target.decode(input, LABEL) };
  } catch (err) {
    if (err instanceof ImageError) return { error: err };
  } finally {
    Error.stackTraceLimit = limit;
  }
  return { value: target.decode(input, LABEL) };
}

// The property itself: a value or an ImageError about this file at an offset inside it.
function decodesOrImageError(target: Target, input: Uint8Array, kind: string): boolean {
  runs.set(`${target.name}/${kind}`, (runs.get(`${target.name}/${kind}`) ?? 0) + 1);
  const decoded = decodeWithoutStacks(target, input);
  if ('error' in decoded) {
    const err = decoded.error;
    if (err.file !== LABEL || err.offset < 0 || err.offset > input.length || !Number.isInteger(err.offset)) {
      throw new Error(`ImageError with bad location: ${err.message}`);
    }
    return true;
  }
  const value = decoded.value;
  // Whatever a decoder accepts must survive encode → decode unchanged.
  const again = target.reencode(value);
  if (again !== undefined) expect(target.decode(again, LABEL)).toEqual(value);
  return true;
}

// Offsets of every u32 length prefix in a well-formed image (walked here, not with the code under test).
function prefixOffsets(image: Uint8Array, headerBytes: number): number[] {
  const view = new DataView(image.buffer, image.byteOffset, image.byteLength);
  const out: number[] = [];
  for (let at = headerBytes; at + 4 <= image.length; at += 4 + view.getUint32(at, true)) out.push(at);
  return out;
}

// A protobuf-looking field: a varint or length-delimited field of a plausible number, or a raw odd tag.
const fieldArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([f, v]) => vfield(f, v)),
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.constantFrom(0, 1, 2, 3, 1000)).map(([f, v]) => vfield(f, v)),
  fc.tuple(fc.integer({ min: 1, max: 20 }), fc.uint8Array({ maxLength: 12 })).map(([f, b]) => lfield(f, [...b])),
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 6 })).map(([t, b]) => [t, ...b]),
);

// A message body: fields, sometimes wrapped as the nested message field 1/2/3/12 (stats, inventory).
const bodyArb: fc.Arbitrary<number[]> = fc.oneof(
  fc.array(fieldArb, { maxLength: 10 }).map((fs) => fs.flat()),
  fc
    .tuple(fc.constantFrom(1, 2, 3, 12), fc.array(fieldArb, { maxLength: 10 }), fc.array(fieldArb, { maxLength: 2 }))
    .map(([f, inner, after]) => [...lfield(f, inner.flat()), ...after.flat()]),
);

// Budget per decoder: ~45k runs each, > 100k in all; random bytes are the cheap bulk.
const RUNS = {
  random: 10_000,
  framedRandom: 10_000,
  framedFields: 10_000,
  truncated: 5_000,
  flipped: 5_000,
  badPrefix: 5_000,
};

describe.each(targets)('$name decoder under random input', (target) => {
  const header = target.magics.flatMap(u32);

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 96 }), (b) => decodesOrImageError(target, b, 'random')),
      { numRuns: RUNS.random },
    );
  });

  it('right magic, then a random length-framed body (and random trailing bytes)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 80 }),
        fc.uint8Array({ minLength: 1, maxLength: 8 }),
        fc.nat(4),
        (body, tail, mode) => {
          // Mostly well framed (so the body reaches protobufjs); sometimes unframed or with trailing bytes.
          const framed = [...header, ...u32(body.length), ...body];
          const parts = mode === 0 ? [...header, ...body] : mode === 1 ? [...framed, ...tail] : framed;
          return decodesOrImageError(target, Uint8Array.from(parts), 'framed-random');
        },
      ),
      { numRuns: RUNS.framedRandom },
    );
  });

  it('right magic, then entries of random protobuf-looking fields', () => {
    fc.assert(
      fc.property(fc.array(bodyArb, { minLength: 1, maxLength: 4 }), (bodies) => {
        // A pagemap head is a small message too; the other formats take only the first entry.
        const entries = target.name === 'pagemap' ? bodies : bodies.slice(0, 1);
        return decodesOrImageError(target, Uint8Array.from([...header, ...entries.flatMap(entry)]), 'framed-fields');
      }),
      { numRuns: RUNS.framedFields },
    );
  });

  it('valid images truncated at a random length', () => {
    fc.assert(
      fc.property(target.valid, fc.nat(), (img, n) =>
        decodesOrImageError(target, img.subarray(0, n % (img.length + 1)), 'truncated'),
      ),
      { numRuns: RUNS.truncated },
    );
  });

  it('valid images with one byte changed', () => {
    fc.assert(
      fc.property(target.valid, fc.nat(), fc.integer({ min: 1, max: 255 }), (img, i, x) => {
        const copy = Uint8Array.from(img);
        const at = i % copy.length;
        copy[at] = copy[at]! ^ x;
        return decodesOrImageError(target, copy, 'flipped');
      }),
      { numRuns: RUNS.flipped },
    );
  });

  it('valid images with a wrong length prefix', () => {
    fc.assert(
      fc.property(
        target.valid,
        fc.nat(),
        fc.oneof(
          fc.integer({ min: -3, max: 3 }).map((d) => ({ delta: d })),
          u32Arb.map((v) => ({ value: v })),
        ),
        (img, which, change) => {
          const copy = Uint8Array.from(img);
          const prefixes = prefixOffsets(copy, header.length);
          const at = prefixes[which % prefixes.length]!;
          const view = new DataView(copy.buffer);
          const next = 'value' in change ? change.value : (view.getUint32(at, true) + change.delta) >>> 0;
          view.setUint32(at, next, true);
          return decodesOrImageError(target, copy, 'bad-prefix');
        },
      ),
      { numRuns: RUNS.badPrefix },
    );
  });

  it('every truncation and every single-byte change of a few valid images (exhaustive)', () => {
    for (const img of fc.sample(target.valid, { numRuns: 5, seed: 42 })) {
      for (let n = 0; n <= img.length; n++) decodesOrImageError(target, img.subarray(0, n), 'exhaustive-truncated');
      for (let i = 0; i < img.length; i++) {
        for (const x of [0x01, 0x80, 0xff]) {
          const copy = Uint8Array.from(img);
          copy[i] = copy[i]! ^ x;
          decodesOrImageError(target, copy, 'exhaustive-flipped');
        }
      }
    }
  });
});

afterAll(() => {
  const total = [...runs.values()].reduce((a, b) => a + b, 0);
  // The floor the brief sets: at least 100,000 inputs across the three decoders.
  expect(total).toBeGreaterThanOrEqual(100_000);
  for (const t of targets) expect([...runs.keys()].some((k) => k.startsWith(`${t.name}/`))).toBe(true);
});

it('hand-picked nasties: groups, deep nesting, huge varints, zero-length entries', () => {
  const nasty = [
    [0x0b, 0x0b, 0x0b, 0x0b], // start-group tags, never closed
    [0x0c], // end-group with no start
    Array(200).fill(0x0b), // deep group nesting
    [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 11-byte varint
    [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // length-delimited field of 4 GiB
    [0x0a, 0x05, 0x0a, 0x03, 0x0a, 0x01], // nested lengths that overrun their parent
    [],
  ];
  for (const target of targets) {
    const header = target.magics.flatMap(u32);
    for (const body of nasty) {
      decodesOrImageError(target, Uint8Array.from([...header, ...u32(body.length), ...body]), 'nasty');
      decodesOrImageError(
        target,
        Uint8Array.from([...header, ...u32(2), 0x08, 0x01, ...u32(body.length), ...body]),
        'nasty',
      );
    }
  }
});
