import { describe, expect, it } from 'vitest';
import { Compactor } from '../../src/loop/compactor.js';
import type { StoredCheckpoint } from '../../src/store/chain.js';

// The compactor's gate, without CRIU: a merge of N steps, and the loop pausing and resuming it as it does
// around each dump. What matters: no step runs between pause() resolving and resume().

const target: StoredCheckpoint = { seq: 3, name: '00000003', parentSeq: 2, sizeBytes: 100 };

function countingMerge(steps: number, log: string[]) {
  return async (_target: StoredCheckpoint, step: () => Promise<void>) => {
    for (let i = 0; i < steps; i++) {
      await step();
      log.push(`step ${i}`);
    }
    return {
      ok: true as const,
      target,
      compacted: { ...target, parentSeq: undefined },
      links: 3,
      bytesWritten: 1,
      elapsedMs: 1,
    };
  };
}

describe('Compactor', () => {
  it('runs no step while paused, and finishes once resumed', async () => {
    const log: string[] = [];
    const compactor = new Compactor(countingMerge(50, log));
    compactor.start(target);
    await new Promise((resolve) => setImmediate(resolve));
    await compactor.pause();
    const atPause = log.length;
    log.push('dump');
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve)); // a dump's worth of event-loop turns
    expect(log.length).toBe(atPause + 1); // nothing ran while "frozen"
    expect(compactor.busy).toBe(true);
    compactor.resume();
    while (compactor.busy) await new Promise((resolve) => setImmediate(resolve));
    expect(log.filter((l) => l.startsWith('step'))).toHaveLength(50);
    expect(compactor.takeOutcome()).toMatchObject({ ok: true, links: 3 });
    expect(compactor.takeOutcome()).toBeUndefined(); // reported once
  });

  it('pause() returns at once when nothing runs; stop() abandons a merge at its next step', async () => {
    const log: string[] = [];
    const compactor = new Compactor(countingMerge(1000, log));
    await compactor.pause();
    compactor.resume();
    compactor.start(target);
    await new Promise((resolve) => setImmediate(resolve));
    await compactor.stop();
    expect(log.length).toBeLessThan(1000);
    expect(compactor.takeOutcome()).toMatchObject({ ok: false, reason: expect.stringContaining('stopped') });
  });
});
