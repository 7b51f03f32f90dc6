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
    await waitFor(
      'two checkpoints',
      async () => ((await readlink(join(images, 'latest')).catch(() => '')) >= '00000002' ? true : undefined),
      20_000,
    );
    const leader = await whoLeads(fencingOf(yaml));
    expect(leader.held && 'holder' in leader.value && leader.value).toMatchObject({
      holder: 'host-a',
      role: 'primary',
      pid: workload.pid,
    });
    const status = await runCli(['status', '--config', config, '--images', images, '--json'], { timeoutMs: 30_000 });
    expect(status.exitCode, status.stderr).toBe(0);
    const shown = JSON.parse(status.stdout) as { lease: Record<string, unknown>; primary: { latest: string } };
    expect(shown.lease).toMatchObject({
      key: `/remusd-test/${name}/leader`,
      held: true,
      holder: 'host-a',
      role: 'primary',
      pid: workload.pid,
    });
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
    expect(report).toMatchObject({
      holder: 'host-a',
      action: 'freeze',
      pid: workload.pid,
      key: `/remusd-test/${name}/leader`,
    });
    expect(report.pids).toContain(workload.pid);
    expect(report.reason).toMatch(/could not renew lease \d+ for \d+ ms/);
    expect(run.log()).toMatch(/FENCED: could not renew lease/);
    expect(run.log()).toMatch(/FROZE \(SIGSTOP\) the workload/);
    // latest points at a complete checkpoint, and no checkpoint starts after the fence.
    const latest = await readlink(join(images, 'latest'));
    expect((await stat(join(images, latest))).isDirectory()).toBe(true);
    // The names, not their count: retention keeps 5, so past five a new checkpoint (and the pruning of the
    // oldest) leaves the count as it was and a count could not see it.
    const checkpoints = async () => (await readdir(images)).filter((n) => /^\d{8}$/.test(n)).sort();
    const afterFence = await checkpoints();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await checkpoints()).toEqual(afterFence);
    etcd.resume();
    console.log(
      `etcd paused → run exited 6 after ${Math.round(fencedAfterMs)} ms (ttl 3 s); workload frozen in ${report.stop_ms} ms`,
    );
  });

  it('another host holds the key: run refuses to start the workload (exit 7, naming the holder)', async () => {
    const etcd = await startEtcd();
    const root = await imagesDir();
    const yaml = fencingYaml(etcd.endpoint, 'host-a', { name: `busy${process.pid}`, acquireTimeout: '1s' });
    const other: LeaderValue = { holder: 'host-b', role: 'failed-over', pid: 4242, since: '2026-12-01T00:00:00.000Z' };
    const holder = await LeaseHolder.acquire({ ...fencingOf(yaml), holder: 'host-b' }, other, {
      waitMs: 0,
      clock: systemClock,
      events: { fenced: () => undefined },
    });
    const config = await writeFencedConfig(root, 'a.yaml', yaml);
    const run = await runCli(['run', '--config', config, '--workload-log', join(root, 'w.out'), '--', 'sleep', '60'], {
      timeoutMs: 20_000,
    });
    expect(run.exitCode, run.stderr).toBe(7);
    expect(run.stderr).toMatch(
      /fencing: cannot acquire \/remusd-test\/busy\d+\/leader: .* is held by host-b \(failed-over, pid 4242, since 2026-12-01T00:00:00\.000Z\); not starting/,
    );
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
    await waitFor(
      'a checkpoint',
      async () => ((await readlink(join(root, 'images', 'latest')).catch(() => '')) !== '' ? true : undefined),
      20_000,
    );
    expect((await whoLeads(fencingOf(yaml))).held).toBe(true);
    await workload.stop();
    workload = undefined;
    const exited = await run.process;
    expect(exited.exitCode, run.log()).toBe(4);
    expect((await whoLeads(fencingOf(yaml))).held).toBe(false); // well before the 10 s TTL
    expect(run.log()).toMatch(/released \/remusd-test\/gone\d+\/leader: the workload is gone/);
  });

  // The fence that outlives remusd: kill -9 (or SIGSTOP) of `remusd run` alone. Its lease is no longer renewed;
  // without the watchdog the workload would run on while the lease runs out and a backup takes over.
  const cases = {
    killed: 'remusd run is killed with SIGKILL: its watchdog freezes the workload well before the lease could expire',
    hung: 'remusd run hangs (SIGSTOP): its watchdog freezes the workload at the renewal deadline, before the lease expires',
    unguarded: 'negative control, the watchdog killed with remusd: the workload runs on after the lease has expired',
  } as const;
  for (const [how, title] of Object.entries(cases) as [keyof typeof cases, string][]) {
    it(title, async () => {
      await testCriu();
      const etcd = await startEtcd();
      const root = await imagesDir();
      const ttlMs = 3000;
      const name = `dog${process.pid}${how}`;
      const yaml = fencingYaml(etcd.endpoint, 'host-a', { name, ttl: `${ttlMs}ms` });
      const config = await writeFencedConfig(root, 'a.yaml', yaml);
      workload = await startWorkload(['--mib', '8', '--phases', '100:1000000', '--report-ms', '50']);
      const run = daemon(['run', '--config', config, '--pid', String(workload.pid)]);
      const watchdog = await waitFor(
        'the watchdog',
        () => Number(/watchdog (\d+) fences workload/.exec(run.log())?.[1]) || undefined,
        20_000,
      );
      await waitFor(
        'a checkpoint',
        async () => ((await readlink(join(root, 'images', 'latest')).catch(() => '')) !== '' ? true : undefined),
        20_000,
      );
      const struck = Date.now();
      process.kill(run.process.pid!, how === 'hung' ? 'SIGSTOP' : 'SIGKILL');
      if (how === 'unguarded') process.kill(watchdog, 'SIGKILL');
      if (how !== 'unguarded') {
        await waitFor(
          'the workload to be frozen',
          async () => ((await processState(workload!.pid)) === 'T' ? true : undefined),
          10_000,
          5,
        );
        if (how === 'killed')
          expect((await whoLeads(fencingOf(yaml))).held, 'frozen while the lease is still held').toBe(true);
        // It writes fenced.json after the workload is stopped; `at` is its own clock (no polling latency in it).
        const report = await waitFor(
          'fenced.json',
          () =>
            readFile(join(root, 'images', 'fenced.json'), 'utf8').then(
              (text) => JSON.parse(text) as FenceReport,
              () => undefined,
            ),
          5000,
        );
        expect(report).toMatchObject({
          by: 'watchdog',
          action: 'freeze',
          pid: workload.pid,
          holder: 'host-a',
          key: `/remusd-test/${name}/leader`,
        });
        expect(report.reason).toMatch(
          how === 'killed'
            ? /remusd \(pid \d+\) died while it held the lease/
            : /sent no lease renewal before the deadline/,
        );
        expect(report.pids).toContain(workload.pid);
        const frozenAfterMs = Date.parse(report.at) + report.stop_ms - struck;
        // The budget: the lease lives ≥ ttl − renew_every after remusd's last renewal (sent ≤ the strike). On
        // remusd's death the watchdog acts on the pipe's EOF at once (measured: 15-30 ms, a /proc walk); on a
        // hang, half a margin after remusd's own fence deadline (≤ ttl − margin/2 after the strike). These bounds
        // are that requirement, not speed targets.
        expect(frozenAfterMs).toBeLessThan(how === 'killed' ? ttlMs - ttlMs / 3 : ttlMs - ttlMs / 5 / 2 + 20);
        console.log(
          `remusd run ${how}: watchdog froze the workload after ${Math.round(frozenAfterMs)} ms (its own stop_ms ${report.stop_ms}; ttl ${ttlMs} ms)`,
        );
      }
      await waitFor(
        'the lease to run out',
        async () => ((await whoLeads(fencingOf(yaml))).held ? undefined : true),
        3 * ttlMs,
      );
      const state = await processState(workload.pid);
      if (how !== 'unguarded') expect(state).toBe('T');
      else expect(state, 'without the watchdog the workload runs on after its lease has expired').toMatch(/^[RSD]$/);
      if (how === 'hung') {
        // remusd wakes up, finds its lease past the deadline and fences itself (status 6): it never resumes the workload.
        process.kill(run.process.pid!, 'SIGCONT');
        expect((await run.process).exitCode, run.log()).toBe(6);
        expect(await processState(workload.pid)).toBe('T');
      }
    });
  }
});
