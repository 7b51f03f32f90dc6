import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  HASHES_FILE,
  PageHashes,
  decodeHashes,
  encodeHashes,
  loadHashes,
  saveHashes,
  type ProcessHashes,
} from '../../src/delta/index.js';

const proc = (pid: number, runs: [number, number][], seed: bigint): ProcessHashes => {
  const pages = runs.reduce((sum, [, n]) => sum + n, 0);
  return {
    pid,
    runVaddr: Float64Array.from(runs.map(([v]) => v)),
    runPages: Uint32Array.from(runs.map(([, n]) => n)),
    hashes: BigUint64Array.from(
      { length: pages },
      (_, i) => (seed * 0x9e3779b97f4a7c15n + BigInt(i)) & 0xffffffffffffffffn,
    ),
    pagemapDigest: 0xdeadbeefcafef00dn,
    pages: {
      pagesId: pid % 7,
      stamp: { dev: 2049n, ino: BigInt(pid) * 1000n, size: BigInt(pages * 4096), mtimeNs: 1795305089677123456n },
    },
  };
};

describe('saved delta hash state', () => {
  it('round-trips every field exactly', () => {
    const state = new PageHashes('00000012', 4096, [
      proc(
        42,
        [
          [0x400000, 3],
          [0x7f0000000000, 5],
        ],
        1n,
      ),
      proc(7, [[0x1000, 1]], 2n),
    ]);
    const back = decodeHashes(encodeHashes(state), 'test');
    expect(back.name).toBe('00000012');
    expect(back.pageSize).toBe(4096);
    expect(back.pids).toEqual([7, 42]);
    for (const [i, p] of state.processes.entries()) expect(back.processes[i]).toEqual(p);
  });

  it('refuses anything that is not a whole, known state: bad magic, other version, truncation, trailing bytes', () => {
    const bytes = encodeHashes(new PageHashes('00000001', 4096, [proc(1, [[0x1000, 4]], 3n)]));
    expect(() => decodeHashes(new TextEncoder().encode('garbage'), 'f')).toThrow(
      'f: not a remusd hash state (bad magic)',
    );
    const otherVersion = Uint8Array.from(bytes);
    otherVersion[8] = 9;
    expect(() => decodeHashes(otherVersion, 'f')).toThrow('unknown version 9');
    expect(() => decodeHashes(bytes.subarray(0, bytes.length - 8), 'f')).toThrow('truncated arrays');
    expect(() => decodeHashes(Uint8Array.from([...bytes, 0, 0, 0, 0, 0, 0, 0, 0]), 'f')).toThrow(
      '8 bytes of trailing data',
    );
  });

  it('never throws anything but an Error with the file name on damaged input (property)', () => {
    const bytes = encodeHashes(
      new PageHashes('00000001', 4096, [
        proc(
          1,
          [
            [0x1000, 4],
            [0x9000, 2],
          ],
          3n,
        ),
      ]),
    );
    fc.assert(
      fc.property(
        fc.nat(bytes.length - 1),
        fc.integer({ min: 0, max: 255 }),
        fc.nat(bytes.length),
        (at, value, cut) => {
          const damaged = Uint8Array.from(bytes);
          damaged[at] = value;
          try {
            decodeHashes(damaged.subarray(0, cut), 'state.bin');
          } catch (error) {
            expect(error).toBeInstanceOf(Error);
            expect((error as Error).message).toMatch(/^state\.bin: /);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('loading a saved hash state from a directory that may come from anywhere', () => {
  it('saved and loaded back; a missing file is no state; a link to /dev/zero is refused at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'remusd-hashes-'));
    try {
      const state = new PageHashes('00000012', 4096, [proc(11, [[0x7f0000000000, 3]], 5n)]);
      await saveHashes(state, dir);
      const loaded = await loadHashes(dir);
      expect(loaded.ok && Buffer.from(encodeHashes(loaded.state)).equals(encodeHashes(state))).toBe(true);
      expect(await loadHashes(join(dir, 'none'))).toEqual({
        ok: false,
        reason: `no saved page hashes in ${join(dir, 'none')} (ENOENT)`,
      });
      // Read without a bound, this grew the process by ~100 MiB a second and never returned (1.1 GB after 10 s).
      await rm(join(dir, HASHES_FILE));
      await symlink('/dev/zero', join(dir, HASHES_FILE));
      expect(await loadHashes(dir)).toEqual({
        ok: false,
        reason: `saved page hashes unusable: ${join(dir, HASHES_FILE)}: is a character device, not a regular file`,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
