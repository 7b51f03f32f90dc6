import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  chainOf,
  COMPACTION_LAG,
  compactionTarget,
  parentFor,
  removable,
  type StoredCheckpoint,
} from '../../src/store/chain.js';

const cp = (seq: number, parentSeq?: number, sizeBytes = 100): StoredCheckpoint => ({
  seq,
  name: String(seq).padStart(8, '0'),
  parentSeq,
  sizeBytes,
});

describe('chainOf', () => {
  it('follows parent links newest first and stops at a missing or cyclic link', () => {
    const stored = [cp(1), cp(2, 1), cp(3, 2), cp(5, 4)];
    expect(chainOf(stored, 3).map((c) => c.seq)).toEqual([3, 2, 1]);
    expect(chainOf(stored, 5).map((c) => c.seq)).toEqual([5]);
    expect(chainOf([cp(1, 2), cp(2, 1)], 1).map((c) => c.seq)).toEqual([1, 2]);
  });
});

describe('parentFor', () => {
  const rules = { newChainEvery: 3, maxChainBytes: 250, keep: 2 };
  it('starts a new chain on the first checkpoint, after new_chain_every links, and past max_chain_bytes', () => {
    expect(parentFor([], undefined, rules).parent).toBeUndefined();
    const two = [cp(1, undefined, 10), cp(2, 1, 10)];
    expect(parentFor(two, two[1], rules).parent?.seq).toBe(2);
    const three = [...two, cp(3, 2, 10)];
    expect(parentFor(three, three[2], rules)).toMatchObject({
      parent: undefined,
      reason: expect.stringContaining('3 links'),
    });
    const heavy = [cp(1, undefined, 200), cp(2, 1, 60)];
    expect(parentFor(heavy, heavy[1], rules)).toMatchObject({
      parent: undefined,
      reason: expect.stringContaining('260 bytes'),
    });
  });
});

describe('removable', () => {
  it('keeps the newest K and every checkpoint their chains need', () => {
    const stored = [cp(1), cp(2, 1), cp(3, 2), cp(4), cp(5, 4), cp(6, 5)];
    expect(removable(stored, 2).map((c) => c.seq)).toEqual([1, 2, 3]);
    const oneChain = [cp(1), cp(2, 1), cp(3, 2)];
    expect(removable(oneChain, 1)).toEqual([]);
  });

  it('never removes a checkpoint that a kept one reaches through its parent links (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.nat(30), { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 8 }),
        (parents, keep) => {
          // checkpoint i+1's parent is some earlier seq (or none when the drawn value is 0 or not earlier)
          const stored = parents.map((p, i) => cp(i + 1, p > 0 && p <= i ? p : undefined));
          const doomed = new Set(removable(stored, keep).map((c) => c.seq));
          const kept = [...stored].sort((a, b) => b.seq - a.seq).slice(0, keep);
          for (const k of kept) for (const link of chainOf(stored, k.seq)) expect(doomed.has(link.seq)).toBe(false);
          // and everything else goes
          expect(doomed.size + new Set(kept.flatMap((k) => chainOf(stored, k.seq).map((c) => c.seq))).size).toBe(
            stored.length,
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('compactionTarget', () => {
  const chainOfLength = (n: number, from = 1) =>
    Array.from({ length: n }, (_, i) => cp(from + i, i === 0 ? undefined : from + i - 1));
  it('flattens the link COMPACTION_LAG behind the newest once the chain has compact_at links, never the newest or its parent', () => {
    expect(compactionTarget(chainOfLength(4), 4, 5)).toBeUndefined();
    expect(compactionTarget(chainOfLength(5), 5, 5)?.seq).toBe(5 - COMPACTION_LAG);
    expect(compactionTarget(chainOfLength(16), 16, 16)?.seq).toBe(14);
    // After that compaction the chain is the flattened link and two deltas: nothing due until it grows again.
    const compacted = [...chainOfLength(5).slice(0, 2), cp(3), cp(4, 3), cp(5, 4)];
    expect(compactionTarget(compacted, 5, 5)).toBeUndefined();
  });

  it('leaves alone a chain that is incomplete here, and a chain of another base', () => {
    expect(
      compactionTarget(
        chainOfLength(6, 2).map((c, i) => (i === 0 ? cp(2, 1) : c)),
        7,
        5,
      ),
    ).toBeUndefined();
    const twoChains = [...chainOfLength(6), ...chainOfLength(3, 7)];
    expect(compactionTarget(twoChains, 9, 5)).toBeUndefined();
    expect(compactionTarget(twoChains, 6, 5)?.seq).toBe(4);
  });

  it('with compaction on, new_chain_every is only the hard bound, and says compaction fell behind', () => {
    const long = chainOfLength(20);
    expect(
      parentFor(long, long.at(-1), { newChainEvery: 20, maxChainBytes: undefined, keep: 5, compactAt: 16 }).reason,
    ).toContain('compaction fell behind');
  });
});
