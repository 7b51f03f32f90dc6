import { describe, expect, it } from 'vitest';
import type { StoredCheckpoint } from '../../src/loop/chain.js';
import { chooseRestorable } from '../../src/replicate/failover.js';

const c = (seq: number, parentSeq?: number): StoredCheckpoint => ({ seq, name: String(seq).padStart(8, '0'), parentSeq, sizeBytes: 0 });

describe('chooseRestorable', () => {
  it('takes the newest checkpoint when its whole chain is present', () => {
    const choice = chooseRestorable([c(1), c(2, 1), c(3, 2)], () => false);
    expect(choice).toEqual({ chosen: c(3, 2), skipped: [] });
  });

  it('falls back to an older complete checkpoint when the newest chain is broken, and says why', () => {
    // 00000004 is gone (a lost transfer, a deleted directory): 5 and 6 cannot be restored.
    const choice = chooseRestorable([c(1), c(2, 1), c(5, 4), c(6, 5)], () => false);
    expect(choice.chosen?.name).toBe('00000002');
    expect(choice.skipped).toEqual([
      { name: '00000006', reason: '00000005 needs its parent 00000004, which is missing' },
      { name: '00000005', reason: '00000005 needs its parent 00000004, which is missing' },
    ]);
  });

  it('does not take a link whose parent entry points outside the directory for a chain root', () => {
    const choice = chooseRestorable([c(1), c(2)], (link) => link.seq === 2);
    expect(choice.chosen?.name).toBe('00000001');
    expect(choice.skipped[0]!.reason).toMatch(/00000002\/parent does not point at a checkpoint/);
  });

  it('nothing restorable: no choice, every checkpoint explained', () => {
    const choice = chooseRestorable([c(3, 2), c(4, 3)], () => false);
    expect(choice.chosen).toBeUndefined();
    expect(choice.skipped.map((s) => s.name)).toEqual(['00000004', '00000003']);
  });
});
