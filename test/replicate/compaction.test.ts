import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pageSize } from '../../src/criu/probe.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { readManifest } from '../../src/replicate/backup-runs.js';
import { failover } from '../../src/replicate/failover.js';
import { startReceiver } from '../../src/replicate/receiver.js';
import { prune } from '../../src/replicate/retention.js';
import { connectToBackup } from '../../src/replicate/backup-connection.js';
import { shipChain } from '../../src/replicate/ship-chain.js';
import type { ShipRecord } from '../../src/replicate/ship-log.js';
import { verifyChain } from '../../src/replicate/verify.js';
import { scanCheckpoints } from '../../src/store/checkpoints.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';
import {
  backupRunDir,
  collectingLog,
  expectResumed,
  primaryRun,
  readJsonLines,
  testPair,
  writesBefore,
} from './helpers.js';

// Compaction on the backup: the backup flattens its own copy of the chain (the primary here does not
// compact at all, so only the backup's rule is at work), nothing full-size is shipped after the first
// checkpoint, the flattened link carries a manifest of its own that verification accepts, and a failover
// from the compacted chain restores the workload with every page intact (the dirtier checks them).

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

describe('compaction on the backup (real CRIU, mode delta)', () => {
  it('the backup compacts its received chain by itself; failover restores the workload from it', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '32', '--phases', '200:1000000', '--report-ms', '50']);
    const root = await imagesDir();
    const images = join(root, 'images');
    const config = join(root, 'remusd.yaml');
    await writeFile(
      config,
      'interval: { initial: 300ms, min: 300ms, max: 300ms }\npolicy: { kind: fixed }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 1000, new_chain_every: 1000, compact: false } }\n',
    );
    const supervised = await runCli([
      'run',
      '--config',
      config,
      '--pid',
      String(workload.pid),
      '--max-checkpoints',
      '9',
    ]);
    expect(supervised.exitCode, supervised.stderr.slice(-2000)).toBe(0);

    const backup = join(root, 'backup');
    const log = collectingLog();
    const receiver = await startReceiver(
      { host: '127.0.0.1', port: 0 },
      {
        root: backup,
        keep: 3,
        compaction: { compactAt: 5, pageSize: size },
        log,
        credentials: (await testPair()).backup,
      },
    );
    const identity = await primaryRun(images);
    const channel = await connectToBackup(receiver.endpoint, (await testPair()).primary, identity);
    const shipped: ShipRecord[] = [];
    try {
      for (let seq = 1; seq <= 9; seq++)
        shipped.push(...(await shipChain(channel, `0000000${seq}`, { images, log: collectingLog(), run: identity })));
    } finally {
      channel.destroy();
      await receiver.closeIntake('the test is done'); // waits for a compaction in progress
      await receiver.close();
    }
    console.log(log.lines.filter((l) => l.includes('compact')).join('\n'));
    expect(log.lines.some((l) => l.includes('compacted'))).toBe(true);
    // Only the first checkpoint went over in full; every later one was its delta, once.
    expect(shipped.map((s) => s.name)).toEqual([
      '00000001',
      '00000002',
      '00000003',
      '00000004',
      '00000005',
      '00000006',
      '00000007',
      '00000008',
      '00000009',
    ]);
    for (const s of shipped.slice(1)) expect(s.bytes).toBeLessThan(shipped[0]!.bytes / 4);

    // On the backup: a short chain ending at a flattened link with a manifest of its own (parent null), which
    // verifies like any link that arrived; retention (keep 3; here the prune a next landing would run) removes
    // the links it replaced.
    const runDir = await backupRunDir(backup, identity.id);
    await prune(runDir, 3, collectingLog());
    const held = scanCheckpoints(runDir);
    const base = held.find((c) => c.parentSeq === undefined)!;
    console.log(
      'backup holds',
      held.map((c) => `${c.name}${c.parentSeq === undefined ? '' : `←${c.parentSeq}`}`).join(' '),
    );
    expect(base.name > '00000001').toBe(true);
    expect(existsSync(join(runDir, '00000001'))).toBe(false);
    expect(readManifest(join(runDir, base.name)).parent).toBeNull();
    const verified = await verifyChain({ runDir, run: identity.id, pageSize: size }, '00000009');
    expect(verified).toMatchObject({ ok: true });
    expect((verified as { links: string[] }).links.at(-1)).toBe(base.name);

    // The primary dies; the backup's compacted chain brings the workload back.
    const records = await readJsonLines<CheckpointRecord>(join(images, 'records.jsonl'));
    expect(records.every((r) => r.compacted === undefined)).toBe(true); // the primary did not compact
    const floor = await writesBefore(images, '00000009', workload);
    const linesAtDeath = (await workload.read()).progress.length;
    await killAndWait(workload.pid);
    const result = await failover(criu, backup);
    expect(result.name).toBe('00000009');
    expect(result.chainLength).toBeLessThan(9);
    await expectResumed(workload, linesAtDeath, floor);
  }, 180_000);
});
