import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  blankWalk,
  chainOf,
  COMPACTION_LAG,
  compactionTarget,
  compactionTargetAfter,
  extendWalk,
  parentAfter,
  parentFor,
  removable,
  removableAfter,
  walkChain,
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

describe('one walk of the newest chain (what the loop keeps after each checkpoint)', () => {
  // Lists like the loop's (each parent the checkpoint before, or none: a chain start or a compacted base) and
  // unlike them (gaps in the seqs, a parent further back, a missing one, one not older than its child).
  const link = fc.oneof(
    { weight: 6, arbitrary: fc.constant('previous' as const) },
    { weight: 2, arbitrary: fc.constant('none' as const) },
    { weight: 1, arbitrary: fc.nat(40) },
  );
  const list = fc.array(fc.record({ gap: fc.integer({ min: 1, max: 3 }), link, size: fc.nat(500) }), {
    minLength: 1,
    maxLength: 30,
  });

  it('answers what removable, parentFor and compactionTarget answer from the whole list (property)', () => {
    fc.assert(
      fc.property(list, fc.integer({ min: 1, max: 8 }), fc.integer({ min: 2, max: 20 }), (drawn, keep, compactAt) => {
        const stored: StoredCheckpoint[] = [];
        let seq = 0;
        for (const { gap, link: to, size } of drawn) {
          const previous = stored.at(-1)?.seq;
          seq += gap;
          stored.push(cp(seq, to === 'previous' ? previous : to === 'none' ? undefined : to, size));
        }
        const newest = stored.at(-1)!;
        const walk = walkChain(stored, newest.seq, blankWalk());
        expect(removableAfter(stored, keep, walk)).toEqual(removable(stored, keep));
        expect(compactionTargetAfter(walk, compactAt)).toBe(compactionTarget(stored, newest.seq, compactAt));
        const rules = { newChainEvery: compactAt, maxChainBytes: 2000, keep, compactAt };
        const planned = parentAfter(newest, walk, rules);
        const expected = parentFor(stored, newest, rules);
        expect([planned.parent, planned.reason]).toEqual([expected.parent, expected.reason]);
      }),
      { numRuns: 1000 },
    );
  });

  it('extending the previous walk by the newest link gives the walk walkChain gives, or declines (property)', () => {
    let extended = 0;
    fc.assert(
      fc.property(list, (drawn) => {
        const stored: StoredCheckpoint[] = [];
        const walk = blankWalk();
        let seq = 0;
        for (const { gap, link: to, size } of drawn) {
          const previous = stored.at(-1)?.seq;
          seq += gap;
          stored.push(cp(seq, to === 'previous' ? previous : to === 'none' ? undefined : to, size));
          const before = { ...walk };
          if (extendWalk(walk, stored)) extended += 1;
          else {
            expect(walk).toEqual(before); // declining changes nothing
            walkChain(stored, seq, walk);
          }
          expect(walk).toEqual(walkChain(stored, seq, blankWalk()));
        }
      }),
      { numRuns: 1000 },
    );
    expect(extended).toBeGreaterThan(1000); // the loop's usual case was taken, not only the fallback
  });

  it('extendWalk declines a newest link whose parent is not the one before it, and sizes that are not whole bytes', () => {
    const stored = [cp(1), cp(2, 1), cp(3, 2)];
    const walk = walkChain(stored.slice(0, 2), 2, blankWalk());
    expect(extendWalk({ ...walk }, [...stored.slice(0, 2), cp(3, 1)])).toBe(false);
    expect(extendWalk({ ...walk }, [...stored.slice(0, 2), cp(3)])).toBe(false);
    expect(extendWalk({ ...walk }, [...stored.slice(0, 2), cp(3, 2, 0.5)])).toBe(false);
    const extendedWalk = { ...walk };
    expect(extendWalk(extendedWalk, stored)).toBe(true);
    expect(extendedWalk).toEqual(walkChain(stored, 3, blankWalk()));
  });
});
