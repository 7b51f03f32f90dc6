import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chainOf, parentFor, removable, type StoredCheckpoint } from '../../src/store/chain.js';

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
    expect(parentFor(three, three[2], rules)).toMatchObject({ parent: undefined, reason: expect.stringContaining('3 links') });
    const heavy = [cp(1, undefined, 200), cp(2, 1, 60)];
    expect(parentFor(heavy, heavy[1], rules)).toMatchObject({ parent: undefined, reason: expect.stringContaining('260 bytes') });
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
      fc.property(fc.array(fc.nat(30), { minLength: 1, maxLength: 30 }), fc.integer({ min: 1, max: 8 }), (parents, keep) => {
        // checkpoint i+1's parent is some earlier seq (or none when the drawn value is 0 or not earlier)
        const stored = parents.map((p, i) => cp(i + 1, p > 0 && p <= i ? p : undefined));
        const doomed = new Set(removable(stored, keep).map((c) => c.seq));
        const kept = [...stored].sort((a, b) => b.seq - a.seq).slice(0, keep);
        for (const k of kept) for (const link of chainOf(stored, k.seq)) expect(doomed.has(link.seq)).toBe(false);
        // and everything else goes
        expect(doomed.size + new Set(kept.flatMap((k) => chainOf(stored, k.seq).map((c) => c.seq))).size).toBe(stored.length);
      }),
      { numRuns: 500 },
    );
  });
});
