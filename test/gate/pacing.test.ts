// Remus' pacing on the real OutputCommit (src/gate/commit.ts), over a gate that only answers (the real gates
// are tested in tun-gate.test.ts and test/vm): with the backup's ack releasing the output, the next checkpoint
// waits while more than one completed checkpoint awaits the ack, until the ack comes or its bound runs out.
// What it buys on real CRIU is measured in the README ("When shipping is slower than checkpointing").

import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { awaitsAck, OutputCommit, type ReleaseAfter } from '../../src/gate/commit.js';
import type { OutputGate } from '../../src/gate/gate.js';

function answeringGate(): OutputGate {
  return {
    mechanism: 'tun',
    inbound: undefined,
    barrier: async (epoch) => ({ epoch, packets: 0, bytes: 0 }),
    release: async (epoch) => ({ epoch, packets: 0, bytes: 0, dropped: 0, holds: new Map() }),
    abandon: async () => undefined,
    open: async () => undefined,
    destroy: async () => undefined,
  };
}

/** An OutputCommit with checkpoints 1..completed taken (barrier, dump, completion), none released. */
async function withCompleted(
  completed: number,
  releaseAfter: ReleaseAfter = 'backup-ack',
  now: () => number = () => performance.now(),
) {
  const output = new OutputCommit(answeringGate(), releaseAfter, {}, now);
  const root = await mkdtemp(join(tmpdir(), 'remusd-pacing-'));
  for (let seq = 1; seq <= completed; seq++) {
    await output.beforeDump(seq);
    await output.afterDump();
    await mkdir(join(root, String(seq))); // release_after fsync syncs it
    await output.afterCheckpoint(seq, root, join(root, String(seq)));
  }
  return output;
}

/** How a wait ended: 'resolved' within withinMs, else 'pending'. */
async function outcome(wait: Promise<void> | undefined, withinMs: number): Promise<'at once' | 'resolved' | 'pending'> {
  if (wait === undefined) return 'at once';
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => (timer = setTimeout(() => resolve('pending'), withinMs)));
  const result = await Promise.race([wait.then(() => 'resolved' as const), late]);
  clearTimeout(timer);
  return result;
}

describe('pacing checkpoints by the backup ack', () => {
  it('waits only with backup-ack, not degraded, and more than one checkpoint unacknowledged', () => {
    expect(awaitsAck('backup-ack', false, 2)).toBe(true);
    expect(awaitsAck('backup-ack', false, 1)).toBe(false); // one may be in the shipper's hands
    expect(awaitsAck('backup-ack', false, 0)).toBe(false);
    expect(awaitsAck('backup-ack', true, 5)).toBe(false); // degraded: the output goes out without the ack
    expect(awaitsAck('fsync', false, 5)).toBe(false); // released by the local fsync: nothing to wait for
  });

  it('one checkpoint unacknowledged: the next starts at once', async () => {
    const output = await withCompleted(1);
    expect(await outcome(output.paced(60_000), 50)).toBe('at once');
  });

  it('two unacknowledged: the next waits for the ack of the older one, and starts as it comes', async () => {
    const output = await withCompleted(2);
    const wait = output.paced(60_000);
    expect(await outcome(wait, 100)).toBe('pending');
    await output.releaseAcked(1);
    expect(await outcome(wait, 1000)).toBe('resolved'); // the ack, not the 60 s bound
    expect(await outcome(output.paced(60_000), 50)).toBe('at once');
  });

  it('an ack for an epoch that leaves two unacknowledged does not end the wait', async () => {
    const output = await withCompleted(4);
    const wait = output.paced(60_000);
    await output.releaseAcked(1); // 2, 3 and 4 still unacknowledged
    expect(await outcome(wait, 100)).toBe('pending');
    await output.releaseAcked(3); // only 4 left
    expect(await outcome(wait, 1000)).toBe('resolved');
  });

  it('a silent shipper holds no checkpoint longer than the bound', async () => {
    const output = await withCompleted(3);
    expect(await outcome(output.paced(30), 2000)).toBe('resolved');
  });

  it('release_after fsync, or degraded: never waits', async () => {
    expect(await outcome((await withCompleted(3, 'fsync')).paced(60_000), 50)).toBe('at once');
    const degraded = await withCompleted(3);
    degraded.degraded = true;
    expect(await outcome(degraded.paced(60_000), 50)).toBe('at once');
  });

  it('records how long each checkpoint waited: paced_ms, and the run totals', async () => {
    let clockMs = 1000;
    const output = await withCompleted(2, 'backup-ack', () => clockMs);
    const root = await mkdtemp(join(tmpdir(), 'remusd-pacing-'));
    const wait = output.paced(60_000);
    clockMs += 340; // the backup takes 340 ms to acknowledge checkpoint 1
    await output.releaseAcked(1);
    await wait;
    await output.beforeDump(3);
    await output.afterDump();
    const paced = await output.afterCheckpoint(3, root, root);
    expect(paced.paced_ms).toBe(340);
    expect(output.summary()).toMatchObject({ pacedCheckpoints: 1, pacedMs: 340 });

    // Checkpoint 4 starts at once (only 3 awaits its ack, with 2): its record says it did not wait.
    await output.releaseAcked(2);
    expect(output.paced(60_000)).toBeUndefined();
    await output.beforeDump(4);
    await output.afterDump();
    expect((await output.afterCheckpoint(4, root, root)).paced_ms).toBe(0);
    expect(output.summary()).toMatchObject({ pacedCheckpoints: 1, pacedMs: 340 });
  });
});
