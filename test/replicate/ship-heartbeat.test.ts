import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndDropCache } from '../../src/fs/page-cache.js';
import { markLatest } from '../../src/store/checkpoints.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { requireRoot } from '../helpers/root.js';
import { slowDiskFor } from '../helpers/slow-disk.js';
import {
  readFailoverReport,
  readJsonLines,
  startBackup,
  startShipper,
  stoppedAfterEach,
  takeCheckpoints,
  waitFor,
  waitForShipped,
} from './helpers.js';
import type { ShipRecord } from '../../src/replicate/ship-log.js';

// Before an offer the shipper reads and hashes every file of the checkpoint. From a slow disk that takes
// seconds, and a backup with --failover-after counts silence meanwhile: the shipper must keep heartbeating
// while it reads, or the backup restores a second copy of a workload that runs on. Real CRIU dumps (full
// mode, 16 MiB of workload memory), the real CLI daemons, and a disk slowed for the shipper alone (a blkio
// cgroup: 2 MiB/s of reads from the disk the images are on).

const FAILOVER_AFTER_MS = 2_000;
const SLOW_READ_BYTES_PER_SECOND = 2 << 20;

const stopped = stoppedAfterEach();

describe('the shipper heartbeats while it reads a checkpoint', () => {
  it('a checkpoint hashed from a slow disk for longer than --failover-after: no failover, it lands', async () => {
    requireRoot();
    const criu = await testCriu();
    const workload = await stopped.workload(['--mib', '16', '--phases', '200:1000000', '--report-ms', '50']);
    const root = await imagesDir('remusd-slowship-');
    const images = join(root, 'images');
    const records = join(root, 'ship.jsonl');
    const backupDir = join(root, 'backup');
    // Two full checkpoints; the shipper is shown the first, then (from a slow disk) the second.
    expect(await takeCheckpoints(root, workload.pid, 'full', 2)).toBe('00000002');
    markLatest(images, '00000001');
    const backup = await startBackup(backupDir, ['--failover-after', `${FAILOVER_AFTER_MS}ms`, '--criu', criu.command]);
    const shipper = await startShipper(images, backup.port, ['--records', records, '--pid', String(workload.pid)]);
    await waitForShipped(records, '00000001'); // the backup holds a checkpoint: its silence trigger is armed

    const slow = await slowDiskFor('h7', images, SLOW_READ_BYTES_PER_SECOND);
    try {
      await slow.add(shipper.process.pid!);
      const second = join(images, '00000002');
      const files = (await readdir(second)).map((name) => join(second, name));
      await flushAndDropCache(files); // read from the disk, not from the page cache
      const shown = performance.now();
      markLatest(images, '00000002');
      // Either it lands, or the backup fails over (the old shipper's silence): whichever comes first.
      const outcome = await waitFor(
        'checkpoint 00000002 acknowledged, or a failover',
        async () => {
          if ((await readFailoverReport(backupDir)) !== null) return 'failed over';
          const shipped = await readJsonLines<ShipRecord>(records).catch(() => []);
          return shipped.some((r) => r.name === '00000002') ? 'landed' : undefined;
        },
        120_000,
      );
      const tookMs = performance.now() - shown;
      const record = (await readJsonLines<ShipRecord>(records)).find((r) => r.name === '00000002');
      console.log(
        `slow disk: 00000002 (${record?.bytes ?? '?'} bytes) ${outcome} ${Math.round(tookMs)} ms after it was shown, ` +
          `${record === undefined ? '?' : Math.round(tookMs - record.ms)} ms of it reading and hashing before the offer`,
      );
      expect(outcome, `${backup.log()}\n${shipper.log()}`).toBe('landed');
      expect(await readFailoverReport(backupDir)).toBeNull();
      // What makes this test able to fail: the shipper was busy well past the silence limit.
      expect(tookMs - record!.ms).toBeGreaterThan(2 * FAILOVER_AFTER_MS);
      expect(backup.running(), backup.log()).toBe(true);
    } finally {
      await slow.remove();
    }
  });
});
