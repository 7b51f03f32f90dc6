import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { setUpDegrade as setUp } from './degrade-setup.js';
import { scratchDir } from '../helpers/scratch.js';

// The degraded release's order of events, on the real OutputCommit over a gate that logs what it is told (the
// real gates are tested in tun-gate.test.ts and test/vm): nothing is released before etcd has the record, a
// record that cannot be written releases nothing, and an ack that catches up clears the record.

async function images(): Promise<{ root: string; dir: (seq: number) => Promise<string> }> {
  const root = await scratchDir('remusd-degrade-');
  return {
    root,
    dir: async (seq) => {
      const dir = join(root, String(seq).padStart(8, '0'));
      await mkdir(dir);
      await writeFile(join(dir, 'pages-1.img'), 'x');
      return dir;
    },
  };
}

describe('degraded output commit (output_commit.degrade_after)', () => {
  it('releases on local fsync only after etcd recorded it, and goes back to acks once the backup caught up', async () => {
    const { events, output, degrade, settle, logged, advance } = setUp(true);
    const { root, dir } = await images();
    for (const seq of [1, 2]) {
      await output.beforeDump(seq);
      await output.afterCheckpoint(seq, root, await dir(seq));
    }
    await settle();
    expect(events).toEqual([]); // within degrade_after: waiting for the ack
    advance(1000);
    await output.beforeDump(3);
    const fields = await output.afterCheckpoint(3, root, await dir(3));
    await logged(4);
    await settle();
    expect(events).toEqual(['record 00000003', 'warn DEGRADED', 'gauge 1', 'release 3']);
    expect(degrade.degraded).toBe(true);
    expect(fields.degraded).toBe(false); // the record of checkpoint 3 was written before its release was decided
    events.length = 0;
    await output.releaseAcked(2); // an old ack: already out, not caught up
    await settle();
    expect(events).toEqual([]);
    await output.releaseAcked(3);
    await logged(3);
    await settle();
    expect(events).toEqual(['clear 00000003', 'gauge 0', 'warn PROTECTED again']);
    expect(degrade.degraded).toBe(false);
  });

  it('a record etcd did not take releases nothing: the output stays held', async () => {
    const { events, output, settle, logged, advance } = setUp(false);
    const { root, dir } = await images();
    await output.beforeDump(1);
    advance(5000);
    await output.afterCheckpoint(1, root, await dir(1));
    await logged(2);
    await settle();
    expect(events).toEqual(['record 00000001', 'error no ack from the backup for 5000 ms, but not degrading']);
    expect(output.releasedThrough).toBeUndefined();
  });
});
