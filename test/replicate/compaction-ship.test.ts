import { existsSync, readlinkSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointRecord } from '../../src/model/record.js';
import { failover } from '../../src/replicate/failover.js';
import type { ShipRecord } from '../../src/replicate/ship-log.js';
import { spawnCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { freePort } from '../helpers/ports.js';
import { sleep } from '../helpers/wait.js';
import { killAndWait, startWorkload, type TestWorkload } from '../helpers/workload.js';
import { expectResumed, readJsonLines, testPair, waitFor, writesBefore } from './helpers.js';

// Compaction on the primary while `remusd ship` is behind (src/store/shipped-compaction.ts). The shipper is
// stopped (SIGSTOP: a stalled link) for 3 s while `remusd run` checkpoints every 200 ms with compact_at 4, then
// let go. With compact_after_ship (the default) the primary flattens only links the backup holds, waits while
// it holds none above the base, and the shipper catches up with deltas alone: nothing after the first
// checkpoint goes over in full, no shipment fails, and the backup's chain restores the workload. The control
// (compact_after_ship: false) flattens links the backup lacks: the backup is then sent a flattened base, the
// whole memory, or the shipper finds links gone (ENOENT) and fails.

const MiB = 2 ** 20;
let workload: TestWorkload | undefined;
const spawned: ReturnType<typeof spawnCli>[] = [];
afterEach(async () => {
  for (const p of spawned.splice(0)) p.kill('SIGKILL');
  await workload?.stop();
  workload = undefined;
});

interface Stalled {
  images: string;
  backup: string;
  shipped: ShipRecord[];
  records: CheckpointRecord[];
  runLog: string;
  shipLog: string;
  /** When the shipper was let go (ms since the epoch, as the log's "time"). */
  resumedAt: number;
}

async function stallTheShipper(compactAfterShip: boolean): Promise<Stalled> {
  workload = await startWorkload(['--mib', '32', '--phases', '400:1000000', '--report-ms', '50']);
  const root = await imagesDir();
  const images = join(root, 'images');
  const backup = join(root, 'backup');
  const config = join(root, 'remusd.yaml');
  await writeFile(
    config,
    'interval: { initial: 200ms, min: 200ms, max: 200ms }\npolicy: { kind: fixed }\n' +
      `checkpoint: { mode: delta, dir: ./images, retention: { keep: 2, compact_at: 4, new_chain_every: 100, compact_after_ship: ${compactAfterShip} } }\n`,
  );
  const keys = await testPair();
  let resumedAt = 0;
  const port = await freePort();
  const logs = { run: '', ship: '', backup: '' };
  const start = (name: keyof typeof logs, args: string[]) => {
    const p = spawnCli(args);
    spawned.push(p);
    p.stderr?.on('data', (chunk: Buffer) => (logs[name] += chunk.toString()));
    return p;
  };
  // The backup does not compact (--compact-at 0): what it holds is what was shipped.
  void start('backup', [
    'backup',
    '--dir',
    backup,
    '--listen',
    `127.0.0.1:${port}`,
    '--keys',
    keys.backupDir,
    '--compact-at',
    '0',
  ]);
  const run = start('run', ['run', '--config', config, '--pid', String(workload.pid)]);
  const shipLines = () => readJsonLines<ShipRecord>(join(images, 'ship.jsonl')).catch(() => [] as ShipRecord[]);
  try {
    // The shipper starts with the run (as a unit ordered after it would): a shipper that starts later finds
    // links compacted before it could say what the backup holds, and its first catch-up may fail once on them.
    await waitFor('the run to begin', () => (existsSync(join(images, 'run.json')) ? true : undefined), 30_000, 20);
    const ship = start('ship', ['ship', '--images', images, '--to', `127.0.0.1:${port}`, '--keys', keys.primaryDir]);
    await waitFor(
      '3 checkpoints shipped',
      async () => ((await shipLines()).length >= 3 ? true : undefined),
      30_000,
      50,
    );
    ship.kill('SIGSTOP');
    await sleep(3000);
    const newestAtResume = readlinkSync(join(images, 'latest'));
    resumedAt = Date.now();
    ship.kill('SIGCONT');
    await waitFor(
      `the shipper to catch up with ${newestAtResume}`,
      async () => ((await shipLines()).some((r) => r.name >= newestAtResume) ? true : undefined),
      60_000,
      100,
    );
    await sleep(2000); // and compaction to move up behind it
    run.kill('SIGTERM');
    await run.catch(() => undefined);
    ship.kill('SIGTERM');
    await ship.catch(() => undefined);
  } catch (error) {
    for (const [name, text] of Object.entries(logs)) console.log(`--- ${name}\n${text.slice(-3000)}`);
    throw error;
  }
  return {
    images,
    backup,
    shipped: await shipLines(),
    records: await readJsonLines<CheckpointRecord>(join(images, 'records.jsonl')),
    runLog: logs.run,
    shipLog: logs.ship,
    resumedAt,
  };
}

const nextName = (name: string) => String(Number(name) + 1).padStart(name.length, '0');

const failures = (log: string) => log.split('\n').filter((l) => /shipping to .* failed/.test(l));

describe('compaction while the shipper is behind (real CRIU, mode delta, remusd run + ship + backup)', () => {
  it('flattens only what the backup holds: the shipper catches up with deltas, and failover restores', async () => {
    const criu = await testCriu();
    const s = await stallTheShipper(true);
    const [first, ...later] = s.shipped;
    console.log(
      `shipped ${s.shipped.length}: first ${first?.bytes} B, later max ${Math.max(...later.map((r) => r.bytes))} B;`,
      `compactions ${s.records
        .filter((r) => r.compacted !== undefined)
        .map((r) => r.compacted?.name)
        .join(' ')}`,
    );
    expect(first!.bytes).toBeGreaterThan(30 * MiB); // the first checkpoint: the whole 32 MiB
    for (const r of later) expect(r.bytes, r.name).toBeLessThan(first!.bytes / 4);
    // Across the stall and after it, no shipment may fail. (Before it, the shipper may find the backup not yet
    // listening. A link removed under its plan, as by a compaction begun before its first mark, is planned
    // again on the same connection, not a failure: CI once logged one after the stall, before that was so.)
    const afterStart = failures(s.shipLog).filter((l) => (JSON.parse(l) as { time: number }).time >= s.resumedAt);
    expect(afterStart.join('\n')).toBe('');
    // Compaction went on (the chain stayed short) and took both new paths: it waited, then moved up behind the shipper.
    expect(s.records.filter((r) => r.compacted !== undefined).length).toBeGreaterThanOrEqual(2);
    expect(s.runLog).toMatch(/compaction waits for the backup/);
    expect(s.runLog).toMatch(/compacting \d+, the newest link the backup holds/);

    // The primary dies; the backup's newest chain brings the workload back with every page intact.
    const newest = s.shipped.at(-1)!.name;
    const linesAtDeath = (await workload!.read()).progress.length;
    await killAndWait(workload!.pid);
    const result = await failover(criu, s.backup);
    // The backup may hold one more than ship.jsonl says: the shipper, SIGTERMed, can stop between the backup's
    // ack and its log line (seen twice in 12 runs here). Never fewer.
    expect([newest, nextName(newest)]).toContain(result.name);
    await expectResumed(workload!, linesAtDeath, await writesBefore(s.images, result.name, workload!));
  }, 240_000);

  it('control: compact_after_ship false flattens links the backup lacks (a full-size shipment or a failure)', async () => {
    const s = await stallTheShipper(false);
    const [first, ...later] = s.shipped;
    const full = later.filter((r) => r.bytes > first!.bytes / 2);
    console.log(
      `full-size shipments ${full.map((r) => `${r.name} ${r.bytes} B`).join(', ')}; failures ${failures(s.shipLog).length}`,
    );
    expect(full.length + failures(s.shipLog).length).toBeGreaterThan(0);
  }, 240_000);
});
