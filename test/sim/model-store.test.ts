import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LiveCheckpoints } from '../../src/sim/model-store.js';
import type { StoredCheckpoint } from '../../src/store/chain.js';

const cp = (seq: number): StoredCheckpoint => ({ seq, name: String(seq), parentSeq: undefined, sizeBytes: 1 });

describe('the model checkpointer’s live checkpoints', () => {
  // Seqs present (ascending, with gaps), and which of them (and of seqs absent) retention hands back.
  const drawn = fc.record({
    seqs: fc.uniqueArray(fc.nat(60), { maxLength: 30 }).map((s) => s.sort((a, b) => a - b)),
    doomed: fc.uniqueArray(fc.nat(60), { maxLength: 30 }),
    ascending: fc.boolean(),
  });

  it('remove forgets exactly the given seqs, listed in seq order (one pass) or not (property)', () => {
    fc.assert(
      fc.property(drawn, ({ seqs, doomed, ascending }) => {
        const live = new LiveCheckpoints();
        for (const seq of seqs) live.replace(cp(seq));
        const order = ascending ? [...doomed].sort((a, b) => a - b) : doomed;
        live.remove(order.map(cp));
        const left = seqs.filter((seq) => !doomed.includes(seq));
        for (const seq of seqs) expect(live.find(seq)?.seq).toBe(left.includes(seq) ? seq : undefined);
      }),
      { numRuns: 500 },
    );
  });

  it('remove of its first entries, the same objects (the fast path), keeps the rest in order, each found (property)', () => {
    fc.assert(
      fc.property(drawn, fc.nat(30), ({ seqs }, cut) => {
        const live = new LiveCheckpoints();
        const stored = seqs.map(cp);
        for (const c of stored) live.replace(c);
        const n = Math.min(cut, stored.length);
        live.remove(stored.slice(0, n));
        for (const [i, c] of stored.entries()) expect(live.find(c.seq)).toBe(i < n ? undefined : c);
        // Found again walking down, as a merge does (find's hint), and up.
        for (const c of [...stored].reverse())
          expect(live.find(c.seq)?.seq).toBe(stored.indexOf(c) < n ? undefined : c.seq);
        // New ones still go last, in order.
        live.replace(cp(100));
        expect(live.find(100)?.seq).toBe(100);
      }),
      { numRuns: 300 },
    );
  });
});
