import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COMPACTION_LAG, compactionTargetAfter, walkChain, type StoredCheckpoint } from '../../src/store/chain.js';
import { BOUND_ROOM, shippedCompactionTarget } from '../../src/store/shipped-compaction.js';

const cp = (seq: number, parentSeq?: number): StoredCheckpoint => ({
  seq,
  name: String(seq).padStart(8, '0'),
  parentSeq,
  sizeBytes: 100,
});

// A chain with its base at `base` and its newest at `newest`, each link's parent the one before.
function chain(base: number, newest: number): StoredCheckpoint[] {
  const links: StoredCheckpoint[] = [];
  for (let seq = base; seq <= newest; seq++) links.push(cp(seq, seq === base ? undefined : seq - 1));
  return links;
}

// The rule as the loop applies it: the usual target first, then the backup's mark.
function pick(stored: StoredCheckpoint[], holds: number, compactAt = 16, newChainEvery = 20) {
  const newest = stored.at(-1)!;
  const walk = walkChain(stored, newest.seq);
  const usual = compactionTargetAfter(walk, compactAt);
  if (usual === undefined) return undefined;
  return shippedCompactionTarget(stored, newest, walk.links, usual, holds, newChainEvery);
}

describe('compaction while the shipper is behind', () => {
  it('flattens the usual link (two behind the newest) once the backup holds it', () => {
    const stored = chain(1, 16);
    expect(pick(stored, 14)).toEqual({ link: stored[13], why: 'usual' });
    expect(pick(stored, 16)?.link?.seq).toBe(14);
  });

  it('flattens the newest link the backup holds when it lacks the usual one', () => {
    const stored = chain(1, 16);
    expect(pick(stored, 9)).toEqual({ link: stored[8], why: 'shipped' });
    expect(pick(stored, 2)?.link?.seq).toBe(2);
  });

  it('waits while the backup holds nothing above the base and the chain has room; the usual link at the bound', () => {
    // Raised new_chain_every gives the room; the base itself is never a target (flattening it changes nothing).
    expect(pick(chain(5, 20), 5, 16, 30)).toEqual({ link: undefined, why: 'waits' });
    expect(pick(chain(5, 20), 0, 16, 30)).toEqual({ link: undefined, why: 'waits' });
    const atBound = chain(5, 30 - BOUND_ROOM + 4);
    expect(pick(atBound, 5, 16, 30)).toEqual({ link: atBound.at(-1 - COMPACTION_LAG), why: 'bound' });
    // The defaults (16, 20) leave no room to wait: the bound is where compaction is due.
    const defaults = chain(1, 16);
    expect(pick(defaults, 1)).toEqual({ link: defaults[13], why: 'bound' });
  });

  it('never picks the newest, its parent, the base, or a link the backup lacks', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 4, max: 40 }),
        fc.nat(80),
        (base, length, holds) => {
          const stored = chain(base, base + length - 1);
          const choice = pick(stored, holds, 4, 1000);
          if (choice === undefined) return;
          if (choice.link === undefined) {
            expect(choice.why).toBe('waits');
            expect(holds).toBeLessThanOrEqual(base);
            return;
          }
          const newest = base + length - 1;
          expect(choice.link.seq).toBeLessThanOrEqual(newest - COMPACTION_LAG);
          expect(choice.link.seq).toBeGreaterThan(base);
          expect(choice.link.seq).toBeLessThanOrEqual(holds);
          // And the newest such link: nothing the backup holds lies between it and the usual target.
          expect(choice.link.seq).toBe(Math.min(holds, newest - COMPACTION_LAG));
        },
      ),
    );
  });
});
