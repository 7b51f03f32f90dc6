import { access, readdir, readFile, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { LeaderValue } from '../../src/fence/etcd.js';
import type { FenceReport } from '../../src/fence/marker.js';
import { LeaseHolder, whoLeads } from '../../src/fence/holder.js';
import { systemClock } from '../../src/loop/clock.js';
import { processState } from '../../src/process/proc.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { startEtcd } from '../helpers/etcd.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';
import { daemon, stopDaemons, waitFor } from '../replicate/helpers.js';
import { fencingOf, fencingYaml, writeFencedConfig } from './helpers.js';

// remusd run with fencing.kind etcd against a real etcd 3.4, real CRIU and the bundled workload.

let workload: TestWorkload | undefined;
afterEach(async () => {
  await stopDaemons();
  await workload?.stop();
  workload = undefined;
});

describe('remusd run holds the lease while it protects the workload', () => {
  it('etcd stops answering: run fences within the TTL (workload frozen, nothing published after), exits 6', async () => {
    await testCriu();
    const etcd = await startEtcd();
    const root = await imagesDir();
    const name = `run${process.pid}`;
    const yaml = fencingYaml(etcd.endpoint, 'host-a', { name, ttl: '3s' });
    const config = await writeFencedConfig(root, 'a.yaml', yaml);
    workload = await startWorkload(['--mib', '16', '--phases', '200:1000000', '--report-ms', '50']);
    const run = daemon(['run', '--config', config, '--pid', String(workload.pid)]);
    const images = join(root, 'images');
    await waitFor('two checkpoints', async () => ((await readlink(join(images, 'latest')).catch(() => '')) >= '00000002' ? true : undefined), 20_000);
    const leader = await whoLeads(fencingOf(yaml));
    expect(leader.held && 'holder' in leader.value && leader.value).toMatchObject({ holder: 'host-a', role: 'primary', pid: workload.pid });
    const status = await runCli(['status', '--config', config, '--images', images, '--json'], { timeoutMs: 30_000 });
    expect(status.exitCode, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { lease: Record<string, unknown>; primary: { latest: string } };
    expect(shown.lease).toMatchObject({ key: `/remusd-test/${name}/leader`, held: true, holder: 'host-a', role: 'primary', pid: workload.pid });
    expect(shown.lease.ttl_left_s as number).toBeGreaterThan(0);
    expect(shown.lease.since as string).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(shown.primary.latest).toMatch(/^\d{8}$/);

    const paused = performance.now();
    etcd.pause();
    const exited = await run.process;
    const fencedAfterMs = performance.now() - paused;
    expect(exited.exitCode, run.log()).toBe(6);
    // Fenced at (last renewal sent) + ttl − margin: no later than 3 s − 600 ms after the pause, plus the time
    // the supervisor takes to finish a checkpoint in progress and exit (generous: the machine is shared).
    expect(fencedAfterMs).toBeLessThan(3000 - 600 + 5000);
    expect(await processState(workload.pid)).toBe('T');
    const report = JSON.parse(await readFile(join(images, 'fenced.json'), 'utf8')) as FenceReport;
    expect(report).toMatchObject({ holder: 'host-a', action: 'freeze', pid: workload.pid, key: `/remusd-test/${name}/leader` });
    expect(report.pids).toContain(workload.pid);
    expect(report.reason).toMatch(/could not renew lease \d+ for \d+ ms/);
    expect(run.log()).toMatch(/FENCED: could not renew lease/);
    expect(run.log()).toMatch(/FROZE \(SIGSTOP\) the workload/);
    // latest points at a complete checkpoint, and no checkpoint starts after the fence.
    const latest = await readlink(join(images, 'latest'));
    expect((await stat(join(images, latest))).isDirectory()).toBe(true);
    const count = async () => (await readdir(images)).filter((n) => /^\d{8}$/.test(n)).length;
    const afterFence = await count();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await count()).toBe(afterFence);
    etcd.resume();
    console.log(`etcd paused → run exited 6 after ${Math.round(fencedAfterMs)} ms (ttl 3 s); workload frozen in ${report.stop_ms} ms`);
  });

  it('another host holds the key: run refuses to start the workload (exit 7, naming the holder)', async () => {
    const etcd = await startEtcd();
    const root = await imagesDir();
    const yaml = fencingYaml(etcd.endpoint, 'host-a', { name: `busy${process.pid}`, acquireTimeout: '1s' });
    const other: LeaderValue = { holder: 'host-b', role: 'failed-over', pid: 4242, since: '2026-12-01T00:00:00.000Z' };
    const holder = await LeaseHolder.acquire({ ...fencingOf(yaml), holder: 'host-b' }, other, { waitMs: 0, clock: systemClock, events: { fenced: () => undefined } });
    const config = await writeFencedConfig(root, 'a.yaml', yaml);
    const run = await runCli(['run', '--config', config, '--workload-log', join(root, 'w.out'), '--', 'sleep', '60'], { timeoutMs: 20_000 });
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toMatch(/fencing: cannot acquire \/remusd-test\/busy\d+\/leader: .* is held by host-b \(failed-over, pid 4242, since 2026-12-01T00:00:00\.000Z\); not starting/);
    await expect(access(join(root, 'w.out'))).rejects.toThrow(); // the workload was never started
    await holder.release();
  });

  it('the workload exits: run revokes the lease, so a backup may take over at once', async () => {
    await testCriu();
    const etcd = await startEtcd();
    const root = await imagesDir();
    const yaml = fencingYaml(etcd.endpoint, 'host-a', { name: `gone${process.pid}`, ttl: '10s' });
    const config = await writeFencedConfig(root, 'a.yaml', yaml);
    workload = await startWorkload(['--mib', '8', '--phases', '100:1000000', '--report-ms', '50']);
    const run = daemon(['run', '--config', config, '--pid', String(workload.pid)]);
    await waitFor('a checkpoint', async () => ((await readlink(join(root, 'images', 'latest')).catch(() => '')) !== '' ? true : undefined), 20_000);
    expect((await whoLeads(fencingOf(yaml))).held).toBe(true);
    await workload.stop();
    workload = undefined;
    const exited = await run.process;
    expect(exited.exitCode, run.log()).toBe(4);
    expect((await whoLeads(fencingOf(yaml))).held).toBe(false); // well before the 10 s TTL
    expect(run.log()).toMatch(/released \/remusd-test\/gone\d+\/leader: the workload is gone/);
  });
});
