import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { whoLeads } from '../../src/fence/holder.js';
import { releasedKey, type ReleasedValue } from '../../src/fence/released.js';
import { isAlive } from '../../src/process/proc.js';
import { readRunIdentity } from '../../src/store/run-identity.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { startEtcd, type TestEtcd } from '../helpers/etcd.js';
import { killAndWait } from '../helpers/workload.js';
import { daemon, readFailoverReport, stoppedAfterEach, takeCheckpoints, waitFor } from '../replicate/helpers.js';
import { fencingOf, fencingYaml, writeFencedConfig } from './helpers.js';

// `remusd failover` by hand, with fencing, against a real etcd 3.4 and real CRIU checkpoints: a primary that
// ran degraded left PREFIX/NAME/released naming a checkpoint newer than any here, so clients have seen output
// that no checkpoint here contains. The failover must take the lease, read the record, refuse (exit 8,
// failover.json refused: stale-checkpoint), restore nothing and let the lease go.

const stopped = stoppedAfterEach();

/** A primary's images directory with three real delta checkpoints of a workload that is dead by now. */
async function deadPrimary() {
  await testCriu();
  const root = await imagesDir();
  const workload = await stopped.workload(['--mib', '16', '--phases', '200:1000000', '--report-ms', '50']);
  const newest = await takeCheckpoints(root, workload.pid, 'delta', 3);
  const images = join(root, 'images');
  const runId = readRunIdentity(images)?.id;
  if (runId === undefined) throw new Error(`${images} has no run.json after remusd run`);
  await killAndWait(workload.pid); // the primary host is gone; its pid is free for a restore
  return { root, images, newest, runId, pid: workload.pid };
}

/** Writes the degraded primary's record, as src/fence/released.ts does, naming `checkpoint` of `run`. */
async function recordReleased(etcd: TestEtcd, yaml: string, run: string, checkpoint: string): Promise<void> {
  const value: ReleasedValue = {
    holder: 'host-a',
    run,
    checkpoint,
    released_at_ms: Date.now(),
    released_at: new Date().toISOString(),
  };
  const { Etcd3 } = await import('etcd3');
  const client = new Etcd3({ hosts: etcd.endpoint });
  try {
    await client.put(releasedKey(fencingOf(yaml))).value(JSON.stringify(value));
  } finally {
    client.close();
  }
}

const next = (name: string) => String(Number(name) + 2).padStart(8, '0');

describe('remusd failover by hand refuses a checkpoint older than output a degraded primary released', () => {
  it('etcd says the primary released a newer checkpoint unacknowledged: exit 8, nothing restored, lease released', async () => {
    const etcd = await startEtcd();
    const { root, images, newest, runId, pid } = await deadPrimary();
    const yaml = fencingYaml(etcd.endpoint, 'host-b', { name: `manual${process.pid}`, acquireTimeout: '5s' });
    const config = await writeFencedConfig(root, 'b.yaml', yaml);
    const released = next(newest);
    await recordReleased(etcd, yaml, runId, released);

    const failover = await runCli(['failover', '--dir', images, '--config', config], { timeoutMs: 60_000 });
    expect(failover.exitCode, failover.stderr).toBe(8);
    expect(failover.stderr).toContain(
      `refusing to restore ${newest}: the primary (host-a) ran degraded and released the output of checkpoint ${released} of run ${runId}`,
    );
    expect(failover.stderr).toMatch(/restoring it would undo output clients have seen/);
    expect(failover.stdout).not.toMatch(/restored/);
    expect(await isAlive(pid), 'nothing was restored').toBe(false);
    const report = await readFailoverReport(images);
    expect(report).toMatchObject({ ok: false, reason: 'manual', refused: 'stale-checkpoint' });
    expect(report?.error).toContain(`refusing to restore ${newest}`);
    expect((await whoLeads(fencingOf(yaml))).held, 'the lease is let go at once').toBe(false);
    console.log(`manual failover refused: ${failover.stderr.trim().split('\n').at(-1)?.slice(0, 240)}`);
  });

  it('negative control: the record names the newest checkpoint here, so the same failover restores it', async () => {
    const etcd = await startEtcd();
    const { root, images, newest, runId, pid } = await deadPrimary();
    const yaml = fencingYaml(etcd.endpoint, 'host-b', { name: `manualok${process.pid}`, acquireTimeout: '5s' });
    const config = await writeFencedConfig(root, 'b.yaml', yaml);
    await recordReleased(etcd, yaml, runId, newest);

    // It holds the lease for the restored workload until that exits.
    const failover = daemon(['failover', '--dir', images, '--config', config]);
    await waitFor('the restore', () => (/restored \d{8}/.test(failover.out()) ? true : undefined), 60_000);
    expect(failover.out()).toContain(`restored ${newest} (chain of 3)`);
    expect(await isAlive(pid), 'the checkpoint was restored under its pid').toBe(true);
    expect(await readFailoverReport(images)).toMatchObject({ ok: true, reason: 'manual', checkpoint: newest, pid });
    const leader = await whoLeads(fencingOf(yaml));
    expect(leader.held && 'holder' in leader.value && leader.value.holder).toBe('host-b');
    await killAndWait(pid);
    expect((await failover.process).exitCode, failover.log()).toBe(0);
  });
});
