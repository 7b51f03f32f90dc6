import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FailoverReport } from '../../src/replicate/auto-failover.js';
import { killNamespaceProcesses } from '../helpers/net.js';
import { connectThroughGate } from '../helpers/resp-client.js';
import { waitFor } from '../helpers/wait.js';
import { backupLatest } from '../replicate/helpers.js';
import { clientOf, etcdDelete, etcdGet, primaryMetric, seen } from './client.js';
import { inHost } from './hosts.js';
import { FAILOVER_AFTER_MS, pairOfHosts, readJson, routeFollowsLease, TTL_MS, type Pair } from './pair.js';

// The backup cut off from the primary while the primary still reaches etcd, seen by a real redis client (ONE
// connection, INCR after INCR) through output commit released by the backup's ack. Without an ack nothing
// leaves, so the client stalls (Remus' trade) unless output_commit.degrade_after lets the primary go on alone:
// it records in etcd (PREFIX/NAME/released) the newest checkpoint whose output went out unacknowledged, and a
// backup that later takes the lease refuses to restore anything older (src/gate/degrade.ts, src/fence/released.ts).

const DEGRADE_MS = 2000;
// Longer than degrade_after and than the backup's failover-after plus the TTL, several times over.
const CUT_MS = 5 * (FAILOVER_AFTER_MS + TTL_MS);
// From the cut until the primary can have degraded: degrade_after, plus its 200 ms check and a checkpoint
// interval (≤ 1 s), plus slack for a machine at a load of 20.
const DEGRADED_BY_MS = DEGRADE_MS + 3000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const releasedKeyOf = (p: Pair) => `/remusd-test/${p.name}/released`;
const logs = (p: Pair) =>
  `RUN:\n${p.run.log().slice(-3000)}\nSHIP:\n${p.ship.log().slice(-1500)}\nBACKUP:\n${p.backup.log().slice(-2000)}`;

async function servedDuringCut(degradeAfter: string) {
  const p = await pairOfHosts({ workload: 'redis', degradeAfter });
  const loop = await clientOf(p);
  await loop.waitForMore(3, 60_000);
  // Protected before the cut: the backup's first (full) checkpoint can take longer than degrade_after to
  // acknowledge at load, and then the primary degrades until the backup has caught up.
  await waitFor(
    'the backup to protect the primary',
    async () => ((await primaryMetric(p, 'remusd_replication_degraded')) === 0 ? true : undefined),
    60_000,
  );
  const cutAt = Date.now();
  await p.hosts.link('pb', false);
  await sleep(CUT_MS);
  const healAt = Date.now();
  const during = loop.acks.filter((a) => a.at >= cutAt + DEGRADED_BY_MS && a.at <= healAt);
  return { p, loop, cutAt, healAt, during };
}

describe('backup cut off from the primary, primary still reaching etcd (redis client, output commit, degrade_after)', () => {
  it('degrade_after 2s: no failover however long the cut; the client is served by the primary throughout; protection resumes after the heal', async () => {
    const { p, loop, cutAt, healAt, during } = await servedDuringCut(`${DEGRADE_MS}ms`);
    const gaugeDuring = await primaryMetric(p, 'remusd_replication_degraded');
    const record = JSON.parse((await etcdGet(p, releasedKeyOf(p))) || 'null') as { checkpoint: string } | null;
    expect(p.run.log(), logs(p)).toMatch(/DEGRADED: no ack from the backup for \d+ ms/);
    expect(gaugeDuring).toBe(1);
    expect(record, 'the primary records what it released unacknowledged').not.toBeNull();
    // `remusd status` on the backup host says so too.
    const status = inHost(p.hosts.ns.backup, ['status', '--config', join(dirname(p.images), 'backup.yaml'), '--json']);
    await status.process;
    expect(JSON.parse(status.out()), status.log()).toMatchObject({
      lease: {
        holder: 'host-a',
        released_unacknowledged: { holder: 'host-a', checkpoint: expect.stringMatching(/^\d{8}$/) },
      },
    });
    // The backup's silence trigger fired long ago, but the primary holds the lease: no failover.
    expect(p.backup.log()).toMatch(/not failing over \(silence\) yet: .*is held by host-a/);
    expect(await readJson(join(p.backupDir, 'failover.json'))).toBeNull();
    // Served: replies kept coming during the cut (≥ 3 is generous: one per checkpoint interval of ≤ 1 s).
    expect(during.length, seen(loop)).toBeGreaterThanOrEqual(3);
    // The link heals: the backup acknowledges again, catches up with the record, and the primary says so.
    const logAtHeal = p.run.log().length;
    await p.hosts.link('pb', true);
    await waitFor(
      'protection to resume',
      () => (/PROTECTED again: the backup acknowledged/.test(p.run.log().slice(logAtHeal)) ? true : undefined),
      60_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${logs(p)}`);
    });
    const protectedAfterMs = Date.now() - healAt;
    expect(await primaryMetric(p, 'remusd_replication_degraded')).toBe(0);
    expect(await etcdGet(p, releasedKeyOf(p)), 'the record is cleared once the backup caught up').toBe('');
    expect(Number(await backupLatest(p.backupDir))).toBeGreaterThanOrEqual(Number(record!.checkpoint));
    await loop.waitForMore(3, 60_000);
    await loop.stop();
    expect(loop.error).toBeUndefined();
    expect(loop.consecutive(), seen(loop)).toBe(true);
    expect(loop.servers(), seen(loop)).toEqual(['primary']);
    // The stall: the longest wait between two replies during the cut (degrade_after, the check, a checkpoint).
    const inCut = loop.acks.filter((a) => a.at >= cutAt - 2000 && a.at <= healAt);
    const stallMs = Math.max(...inCut.slice(1).map((a, i) => a.at - inCut[i]!.at));
    console.log(
      `backup cut off for ${healAt - cutAt} ms (degrade_after ${DEGRADE_MS}, failover-after ${FAILOVER_AFTER_MS}, ttl ${TTL_MS}): no failover; ` +
        `the client's longest wait ${stallMs} ms; ${during.length} replies during the cut; recorded ${record!.checkpoint}; ` +
        `protected again ${protectedAfterMs} ms after the heal (at most); values ${loop.acks[0]!.value}…${loop.acks.at(-1)!.value}, consecutive`,
    );
  }, 300_000);

  it('negative control, degrade_after never: the client is not served during the cut (output waits for the backup)', async () => {
    const { p, loop, cutAt, healAt, during } = await servedDuringCut('never');
    await p.hosts.link('pb', true);
    await loop.stop().catch(() => undefined);
    console.log(
      `degrade_after never: ${during.length} replies during a ${healAt - cutAt} ms cut; ${loop.acks.length} values in all`,
    );
    expect(during, seen(loop)).toEqual([]);
    expect(p.run.log()).not.toMatch(/DEGRADED/);
    expect(await etcdGet(p, releasedKeyOf(p))).toBe('');
  }, 300_000);

  // The refusal, and its negative control: the same with the record deleted from etcd before the kill.
  for (const withRecord of [true, false]) {
    it(
      withRecord
        ? 'primary degraded, then its host killed -9: the backup takes the lease but refuses to restore the stale checkpoint, naming the reason (exit 8)'
        : 'negative control, the record deleted: the backup restores a checkpoint older than what the client was acknowledged',
      async () => {
        const p = await pairOfHosts({ workload: 'redis', degradeAfter: `${DEGRADE_MS}ms` });
        const loop = await clientOf(p);
        await loop.waitForMore(3, 60_000);
        await p.hosts.link('pb', false);
        await waitFor('the primary to degrade', () => (/DEGRADED/.test(p.run.log()) ? true : undefined), 60_000).catch(
          (error: Error) => {
            throw new Error(`${error.message}\n${logs(p)}`);
          },
        );
        await loop.waitForMore(3, 60_000); // acknowledged to the client, never seen by the backup
        const backupHas = await backupLatest(p.backupDir);
        // The primary host dies: links first (from then on it cannot write to etcd), then its processes (as in
        // partition-client.test.ts). The control deletes the record in between: before the lease can expire.
        for (const link of ['cp', 'pe'] as const) await p.hosts.link(link, false);
        const record = JSON.parse(await etcdGet(p, releasedKeyOf(p))) as { checkpoint: string };
        if (!withRecord) await etcdDelete(p, releasedKeyOf(p));
        await killNamespaceProcesses(p.hosts.ns.primary);
        await killNamespaceProcesses(p.service!.plan.primary.namespace);
        const lastAck = loop.acks.at(-1)!.value;
        // What a restore would lose: the backup's newest checkpoint predates output the client saw.
        expect(Number(backupHas)).toBeLessThan(Number(record.checkpoint));
        const report = await waitFor(
          'failover.json',
          () => readJson<FailoverReport>(join(p.backupDir, 'failover.json')).then((r) => r ?? undefined),
          60_000,
        ).catch((error: Error) => {
          throw new Error(`${error.message}\n${logs(p)}`);
        });
        await loop.stop().catch(() => undefined);
        console.log(
          `${withRecord ? 'with' : 'without'} the record: backup had ${backupHas}, primary released through ${record.checkpoint} (client saw up to ${lastAck}); failover.json: ${JSON.stringify({ ok: report.ok, checkpoint: report.checkpoint, refused: report.refused, error: report.error?.slice(0, 300) })}`,
        );
        expect(p.backup.log()).toMatch(/holding \/remusd-test\/\S+\/leader as host-b/); // it held the lease when it decided
        if (withRecord) {
          expect(report, p.backup.log()).toMatchObject({ ok: false, refused: 'stale-checkpoint' });
          expect(report.error).toMatch(
            new RegExp(
              `ran degraded and released the output of checkpoint ${record.checkpoint} .*without this backup's ack; the newest checkpoint here is ${backupHas}`,
            ),
          );
          expect((await p.backup.process).exitCode, p.backup.log()).toBe(8);
        } else {
          expect(report, p.backup.log()).toMatchObject({ ok: true, checkpoint: backupHas });
          // What was lost: a new client of the restored redis counts from an older value than the client was told.
          await routeFollowsLease(p);
          const fresh = await connectThroughGate(p.service!.address, p.service!.port);
          const next = await fresh.command(['GET', 'counter'], 30_000).finally(() => fresh.close());
          console.log(`the restored redis says counter = ${next}; the client had been acknowledged ${lastAck}`);
          expect(Number(next)).toBeLessThan(lastAck);
        }
      },
      300_000,
    );
  }
});
