import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FenceReport } from '../../src/fence/marker.js';
import { processState } from '../../src/process/proc.js';
import { killNamespaceProcesses } from '../helpers/net.js';
import { waitFor } from '../helpers/wait.js';
import { clientOf, failoverOf, seen, withDiagnosis } from './client.js';
import { FAILOVER_AFTER_MS, pairOfHosts, readJson, routeFollowsLease, TTL_MS, type Pair } from './pair.js';

// The client's view of the partitions: a real redis-server (Debian's 7.0) in its own network namespace behind
// the primary host, protected by `remusd run` with the etcd lease and output commit released by the backup's
// ack, replicated by `remusd ship` to `remusd backup` on the backup host. The client (this machine's own
// namespace, linked to both hosts) keeps ONE connection and sends INCR after INCR. Its route to the service
// follows the lease (as vip-manager does for Patroni). Each reply is attributed to the host it came through,
// so "one server at a time" is checked on the wire, not inferred.

const started = Date.now();
const step = (what: string) => console.log(`${((Date.now() - started) / 1000).toFixed(1)} s: ${what}`);

/** Waits for promise at most ms; a timeout shows the three daemons' logs. */
async function within<T>(promise: Promise<T>, ms: number, what: string, p: Pair): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(
            `timed out waiting for ${what} (${ms} ms)\nRUN:\n${p.run.log().slice(-3000)}\nSHIP:\n${p.ship.log().slice(-2000)}\nBACKUP:\n${p.backup.log().slice(-3000)}`,
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// How many values the client must see acknowledged after the failover: a few round trips on the restored server.
const AFTER = 5;
// TCP's retransmission backoff decides when the client's next try reaches the restored server (8-25 s seen in
// the output-commit tests at a load of ~18); the bound only stops a hung test.
const CONTINUE_MS = 60_000;

describe("the client's view of partitions (redis behind the primary host, output commit, etcd lease)", () => {
  for (const outputCommit of [true, false]) {
    it(
      outputCommit
        ? 'primary cut off from etcd and the backup: one server at a time, values consecutive, nothing from the primary after its fence'
        : 'negative control, output commit off: the split primary answers what the backup never got; the client breaks or sees values lost or repeated',
      async () => {
        const p = await pairOfHosts({ workload: 'redis', outputCommit });
        step('pair up');
        const loop = await clientOf(p);
        step('client connected');
        await loop.waitForMore(3, 60_000).catch((error: Error) => {
          throw new Error(`${error.message}\nRUN:\n${p.run.log().slice(-3000)}\nSHIP:\n${p.ship.log().slice(-2000)}`);
        });
        step('3 values');
        const before = loop.acks.length;
        // The classic split brain: the primary loses etcd and the backup, but still reaches the client.
        const cutAt = Date.now();
        await p.hosts.link('pb', false);
        await p.hosts.link('pe', false);
        step('cut');
        const exited = await within(p.run.process, 30_000, 'remusd run to exit fenced', p);
        step('run exited');
        expect(exited.exitCode, p.run.log()).toBe(6);
        const fence = (await readJson<FenceReport>(join(p.images, 'fenced.json')))!;
        const fencedAt = Date.parse(fence.at);
        const switchedAt = await routeFollowsLease(p);
        const report = await failoverOf(p);
        expect(report, p.backup.log()).toMatchObject({ ok: true, pid: p.pid });
        const continued = await loop.waitForMore(AFTER, CONTINUE_MS).then(
          () => true,
          () => false,
        );
        await loop.stop();
        const fromPrimaryAfterFence = loop.acks.filter((a) => a.via === 'primary' && a.at >= fencedAt);
        const firstOnBackup = loop.acks.find((a) => a.via === 'backup');
        console.log(
          `output commit ${outputCommit ? 'ON' : 'OFF'}: ${before} values before the cut; fenced ${fencedAt - cutAt} ms after the cut, ${switchedAt - fencedAt} ms before the ` +
            `lease (and the route) moved; restored ${Date.parse(report.restored_at!) - cutAt} ms after the cut; the client's first reply from the backup ` +
            `${firstOnBackup === undefined ? 'never' : `${firstOnBackup.at - cutAt} ms after the cut`}; ` +
            `servers ${loop.servers().join(' → ')}; ${loop.acks.length} values; ${fromPrimaryAfterFence.length} from the primary after its fence; ${loop.error ?? 'no error'}`,
        );
        if (outputCommit) {
          expect(continued, seen(loop)).toBe(true);
          expect(loop.error).toBeUndefined();
          expect(loop.consecutive(), seen(loop)).toBe(true);
          expect(loop.servers(), seen(loop)).toEqual(['primary', 'backup']);
          expect(fromPrimaryAfterFence, seen(loop)).toEqual([]);
          // And the fence came first: the backup restored only after the primary had stopped its workload.
          expect(Date.parse(report.restored_at!)).toBeGreaterThan(fencedAt + fence.stop_ms);
        } else {
          const broken = !continued || loop.error !== undefined || !loop.consecutive();
          expect(broken, seen(loop)).toBe(true);
        }
      },
      300_000,
    );
  }

  it('etcd down: the client is served until the lease would expire, then the primary fences (its output stops); nobody fails over', async () => {
    // A 5 s lease: long enough that "served until the lease would expire" means several replies even at load.
    const ttlMs = 5000;
    const p = await pairOfHosts({ workload: 'redis', ttlMs });
    const loop = await clientOf(p);
    await loop.waitForMore(3, 60_000);
    const downAt = Date.now();
    p.etcd.pause();
    const exited = await within(p.run.process, 30_000, 'remusd run to exit fenced', p);
    expect(exited.exitCode, p.run.log()).toBe(6);
    const fence = (await readJson<FenceReport>(join(p.images, 'fenced.json')))!;
    const fencedAt = Date.parse(fence.at);
    // It fenced at its own deadline, never later than the lease could expire in etcd (+ timer lateness at load).
    expect(fencedAt + fence.stop_ms - downAt, p.run.log()).toBeLessThanOrEqual(ttlMs + 500);
    // Nobody fails over while etcd is down: the backup cannot take the lease (watched for 3 TTLs after the fence).
    await waitFor(
      'the backup to refuse',
      () => (/not failing over \(\S+\) yet: .*cannot reach etcd/.test(p.backup.log()) ? true : undefined),
      40_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nSHIP:\n${p.ship.log().slice(-2000)}\nBACKUP:\n${p.backup.log().slice(-3000)}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 3 * ttlMs));
    expect(await readJson(join(p.backupDir, 'failover.json'))).toBeNull();
    await loop.stop().catch(() => undefined);
    const served = loop.acks.filter((a) => a.at > downAt && a.at < fencedAt);
    const afterFence = loop.acks.filter((a) => a.at >= fencedAt);
    console.log(
      `etcd down: primary fenced ${fencedAt - downAt} ms later (ttl ${ttlMs}); the client got ${served.length} replies meanwhile, ${afterFence.length} after the fence; ` +
        `no failover; ${loop.error ?? 'the client still waiting'}`,
    );
    // Served until the lease would expire: the backup still acknowledged, so replies went on after etcd went
    // down (a primary that stopped its output at once would give none). One reply needs a checkpoint, its
    // shipping and the ack: 1-2.7 s apart at a load of 8-10 here, hence ≥ 1 in the ≥ 2.3 s before the fence.
    expect(served.length, seen(loop)).toBeGreaterThanOrEqual(1);
    expect(afterFence, seen(loop)).toEqual([]);
    expect(loop.consecutive(), seen(loop)).toBe(true);
    expect(loop.servers(), seen(loop)).toEqual(['primary']);
    p.etcd.resume();
  }, 300_000);

  it('kill -9 of the primary host: the backup takes over within ttl + failover-after + restore; the client goes on', async () => {
    const p = await pairOfHosts({ workload: 'redis' });
    const loop = await clientOf(p);
    await loop.waitForMore(3, 60_000).catch(withDiagnosis(p));
    // The host dies: its links go first (no FIN or RST of a dying process reaches anyone), then every process.
    const killedAt = Date.now();
    for (const link of ['cp', 'pb', 'pe'] as const) await p.hosts.link(link, false);
    await killNamespaceProcesses(p.hosts.ns.primary);
    await killNamespaceProcesses(p.service!.plan.primary.namespace);
    await routeFollowsLease(p);
    const report = await failoverOf(p);
    await loop.waitForMore(AFTER, CONTINUE_MS).catch(withDiagnosis(p));
    await loop.stop();
    const tookMs = Date.parse(report.restored_at!) - killedAt;
    expect(loop.error).toBeUndefined();
    expect(loop.consecutive(), seen(loop)).toBe(true);
    expect(loop.servers(), seen(loop)).toEqual(['primary', 'backup']);
    // Never before the killed primary's lease could have expired (its last renewal was ≤ ttl/3 before the kill);
    // the upper bound is in partition.test.ts (the same set-up without the client).
    expect(tookMs).toBeGreaterThanOrEqual(TTL_MS - TTL_MS / 3);
    const firstOnBackup = loop.acks.find((a) => a.via === 'backup')!;
    console.log(
      `kill -9 of the primary host: restored after ${tookMs} ms (ttl ${TTL_MS} + failover-after ${FAILOVER_AFTER_MS} + restore ${report.restore_ms} ms); ` +
        `the client's next reply after ${firstOnBackup.at - killedAt} ms; values ${loop.acks[0]!.value}…${loop.acks.at(-1)!.value}, consecutive`,
    );
  }, 300_000);

  // The fence that outlives remusd (src/fence/watchdog.c): only `remusd run` is killed; ship and the workload
  // live on. Without the watchdog the workload would still run when the backup takes the lease.
  for (const withWatchdog of [true, false]) {
    it(
      withWatchdog
        ? 'kill -9 of remusd run alone: its watchdog kills the workload well within the TTL; the backup takes over and the client goes on'
        : 'negative control, the watchdog killed with remusd run: the workload still runs when the backup holds the lease',
      async () => {
        const p = await pairOfHosts({ workload: 'redis' });
        const loop = await clientOf(p);
        await loop.waitForMore(3, 60_000).catch(withDiagnosis(p));
        const watchdog = Number(/watchdog (\d+) fences workload/.exec(p.run.log())?.[1]);
        expect(watchdog, p.run.log()).toBeGreaterThan(0);
        const killedAt = Date.now();
        process.kill(p.run.process.pid!, 'SIGKILL');
        if (!withWatchdog) process.kill(watchdog, 'SIGKILL');
        if (withWatchdog) {
          const fence = await waitFor(
            "the watchdog's fenced.json",
            () => readJson<FenceReport>(join(p.images, 'fenced.json')).then((r) => r ?? undefined),
            10_000,
          );
          expect(fence).toMatchObject({ by: 'watchdog', action: 'kill', pid: p.pid });
          const fencedAfterMs = Date.parse(fence.at) + fence.stop_ms - killedAt;
          // The lease outlives remusd's last renewal by ≥ ttl − renew_every: the watchdog must act within that.
          expect(fencedAfterMs).toBeLessThan(TTL_MS - TTL_MS / 3);
          await routeFollowsLease(p);
          const report = await failoverOf(p);
          expect(report).toMatchObject({ ok: true, pid: p.pid });
          await loop.waitForMore(AFTER, CONTINUE_MS).catch(withDiagnosis(p));
          await loop.stop();
          expect(loop.error).toBeUndefined();
          expect(loop.consecutive(), seen(loop)).toBe(true);
          expect(loop.servers(), seen(loop)).toEqual(['primary', 'backup']);
          const tookMs = Date.parse(report.restored_at!) - killedAt;
          console.log(
            `kill -9 of remusd run: the watchdog killed the workload after ${Math.round(fencedAfterMs)} ms (stop ${fence.stop_ms} ms); the backup restored after ${tookMs} ms (restore ${report.restore_ms} ms)`,
          );
        } else {
          await waitFor(
            'the backup to hold the lease',
            () => (/holding \/remusd-test\/\S+\/leader as host-b/.test(p.backup.log()) ? true : undefined),
            60_000,
          );
          const state = await processState(p.pid);
          console.log(
            `without the watchdog: the backup holds the lease ${Date.now() - killedAt} ms after remusd run was killed; the primary's redis is in state ${state}`,
          );
          expect(state, 'two servers: the backup holds the lease while the primary still runs the workload').toMatch(
            /^[RSD]$/,
          );
          await loop.stop();
        }
      },
      300_000,
    );
  }
});
