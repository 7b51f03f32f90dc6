// ship and backup each serve Prometheus metrics (--metrics): scraped during a real ship → backup run of
// real CRIU checkpoints, and checked against what the shipper recorded (ship.jsonl).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageVersion } from '../../src/cli/version.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import {
  startBackup,
  startShipper,
  stoppedAfterEach,
  takeCheckpoints,
  testPair,
  waitFor,
  waitForShipped,
  type Daemon,
} from './helpers.js';

const stopped = stoppedAfterEach();

/** The /metrics address a daemon logged, once it did. */
const metricsUrl = (process: Daemon) =>
  waitFor('the metrics endpoint', () => /metrics on (http:\/\/[\d.:]+\/metrics)/.exec(process.log())?.[1], 30_000);

async function scrape(url: string): Promise<(name: string) => number> {
  const text = await (await fetch(url)).text();
  return (name) => {
    const match = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    if (match === null) throw new Error(`${name} is not in the scrape of ${url}`);
    return Number(match[1]);
  };
}

describe('ship and backup metrics (real CRIU, TLS on 127.0.0.1)', () => {
  it('connection state, bytes, checkpoints, last ack and lag agree with ship.jsonl; a lost backup shows as disconnected and failing', async () => {
    const workload = await stopped.workload(['--mib', '4']);
    const root = await imagesDir('remusd-repl-metrics-');
    const records = join(root, 'ship.jsonl');
    const backup = await startBackup(join(root, 'backup'), ['--metrics', '127.0.0.1:0']);
    const backupMetrics = await metricsUrl(backup);
    expect((await scrape(backupMetrics))('remusd_backup_connected_senders')).toBe(0);

    const newestName = await takeCheckpoints(root, workload.pid, 'full', 3);
    const before = Date.now() / 1000;
    const shipper = await startShipper(join(root, 'images'), backup.port, [
      '--records',
      records,
      '--metrics',
      '127.0.0.1:0',
    ]);
    const shipMetrics = await metricsUrl(shipper);
    const shipped = await waitForShipped(records, newestName);

    const ship = await scrape(shipMetrics);
    const bytes = shipped.reduce((sum, r) => sum + r.bytes, 0);
    expect(ship('remusd_ship_connected')).toBe(1);
    expect(ship('remusd_ship_bytes_total')).toBe(bytes);
    expect(ship('remusd_ship_checkpoints_total')).toBe(shipped.length);
    expect(ship('remusd_ship_transfers_failed_total')).toBe(0);
    const newest = shipped.find((r) => r.name === newestName)!;
    expect(ship('remusd_ship_last_ack_timestamp_seconds')).toBe(Date.parse(newest.acked_at) / 1000);
    expect(ship('remusd_ship_lag_seconds')).toBe(newest.lag_ms / 1000);
    expect(ship(`remusd_build_info{version="${packageVersion()}",node_version="${process.version}",role="ship"}`)).toBe(
      1,
    );

    const received = await scrape(backupMetrics);
    expect(received('remusd_backup_connected_senders')).toBe(1);
    expect(received('remusd_backup_received_bytes_total')).toBe(bytes);
    expect(received('remusd_backup_checkpoints_received_total')).toBe(shipped.length);
    expect(received('remusd_backup_transfers_failed_total')).toBe(0);
    const ackedAt = received('remusd_backup_last_ack_timestamp_seconds');
    expect(ackedAt).toBeGreaterThanOrEqual(before);
    expect(ackedAt).toBeLessThanOrEqual(Date.now() / 1000);
    // The checkpoint was taken before the shipper even started: the lag covers at least that wait.
    expect(received('remusd_backup_lag_seconds')).toBeGreaterThan(0);

    // The backup goes away: the shipper shows it, and counts its failed reconnects.
    backup.process.kill('SIGTERM');
    await backup.process;
    const lost = await waitFor(
      'the shipper to show the backup lost',
      async () => {
        const now = await scrape(shipMetrics);
        return now('remusd_ship_connected') === 0 && now('remusd_ship_transfers_failed_total') >= 2 ? now : undefined;
      },
      30_000,
      200,
    );
    expect(lost('remusd_ship_bytes_total')).toBe(bytes); // nothing more counted as shipped
    shipper.process.kill('SIGTERM');
    expect((await shipper.process).exitCode).toBe(0);
  }, 120_000);

  it('--metrics on an address other machines reach is refused (exit 2), unless --metrics-allow-remote', async () => {
    const pair = await testPair();
    const ship = await runCli([
      'ship',
      '--images',
      '/nonexistent',
      '--to',
      '127.0.0.1:9',
      '--keys',
      pair.primaryDir,
      '--metrics',
      '0.0.0.0:9464',
    ]);
    expect(ship.exitCode).toBe(2);
    expect(ship.stderr).toContain('--metrics 0.0.0.0:9464 can be reached from other machines');
    const backup = await runCli([
      'backup',
      '--dir',
      '/nonexistent',
      '--keys',
      pair.backupDir,
      '--metrics-allow-remote',
    ]);
    expect(backup.exitCode).toBe(2);
    expect(backup.stderr).toContain('--metrics-allow-remote applies to --metrics');
  });
});
