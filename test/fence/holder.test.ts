import { describe, expect, it } from 'vitest';
import type { FencingConfig } from '../../src/config/fencing.js';
import { LeaseHolder, LeaseUnavailableError, whoLeads } from '../../src/fence/holder.js';
import type { LeaderValue } from '../../src/fence/etcd.js';
import { systemClock } from '../../src/loop/clock.js';
import { startEtcd } from '../helpers/etcd.js';

// The lease holder against a real etcd 3.4 (Debian's, unpacked by scripts/install-etcd.sh) through the etcd3
// npm client: the v3 lease and transaction semantics the fencing relies on.

type EtcdConfig = Extract<FencingConfig, { kind: 'etcd' }>;
const config = (endpoint: string, ttlMs = 2000): EtcdConfig => ({
  kind: 'etcd',
  endpoints: [endpoint],
  prefix: '/remusd-test',
  name: `svc${process.pid}`,
  holder: 'a',
  timing: { ttlMs, renewEveryMs: Math.round(ttlMs / 4), marginMs: Math.round(ttlMs / 4) },
  onFence: 'freeze',
  acquireTimeoutMs: 0,
  tls: null,
});
const value = (holder: string): LeaderValue => ({
  holder,
  role: 'primary',
  pid: process.pid,
  since: new Date().toISOString(),
});

function collect() {
  const fenced: { reason: string; atMs: number }[] = [];
  const renewals: number[] = [];
  return {
    fenced,
    renewals,
    events: {
      fenced: (reason: string) => void fenced.push({ reason, atMs: performance.now() }),
      renewed: (ms: number) => void renewals.push(ms),
    },
  };
}

describe('LeaseHolder on a real etcd 3.4', () => {
  it('one holder at a time: a second claimant is told who holds the key; a released key is free at once', async () => {
    const etcd = await startEtcd();
    const c = config(etcd.endpoint);
    const a = collect();
    const first = await LeaseHolder.acquire(c, value('host-a'), { waitMs: 0, clock: systemClock, events: a.events });
    const second = LeaseHolder.acquire({ ...c, holder: 'b' }, value('host-b'), {
      waitMs: 1500,
      clock: systemClock,
      events: collect().events,
    });
    await expect(second).rejects.toThrow(LeaseUnavailableError);
    await expect(second).rejects.toThrow(/\/remusd-test\/svc\d+\/leader is held by host-a \(primary, pid \d+, since /);
    // Held across several renewals (TTL 2 s, renewal every 500 ms), not fenced.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect(a.fenced).toEqual([]);
    expect(a.renewals.length).toBeGreaterThanOrEqual(3);
    expect((await whoLeads(c)).held).toBe(true);
    expect(await first.release()).toBe(true);
    const b = await LeaseHolder.acquire(c, value('host-b'), {
      waitMs: 0,
      clock: systemClock,
      events: collect().events,
    });
    const leader = await whoLeads(c);
    expect(leader.held && 'holder' in leader.value && leader.value.holder).toBe('host-b');
    await b.release();
  });

  it('etcd stops answering: the holder fences before its lease can expire; once it has expired another host acquires', async () => {
    const etcd = await startEtcd();
    const c = config(etcd.endpoint, 3000);
    const a = collect();
    const holder = await LeaseHolder.acquire(c, value('host-a'), { waitMs: 0, clock: systemClock, events: a.events });
    await new Promise((resolve) => setTimeout(resolve, 800));
    const lastOk = performance.now();
    etcd.pause();
    await waitUntil(() => a.fenced.length > 0, 6000);
    const fencedAfter = a.fenced[0]!.atMs - lastOk;
    // The fence comes at (last renewal sent) + ttl − margin: at most ttl − margin after the pause, and no
    // earlier than ttl − margin − renew_every (the renewal before the pause may have been just sent).
    expect(fencedAfter).toBeLessThanOrEqual(3000 - 750 + 100);
    expect(fencedAfter).toBeGreaterThanOrEqual(3000 - 750 - 750 - 100);
    expect(a.fenced[0]!.reason).toMatch(/could not renew lease \d+ for \d+ ms/);
    etcd.resume();
    await holder.stop();
    // etcd refreshes leases when it restarts or resumes; the key goes once the full TTL passes unrenewed.
    const b = await LeaseHolder.acquire({ ...c, holder: 'b' }, value('host-b'), {
      waitMs: 8000,
      clock: systemClock,
      events: collect().events,
    });
    const leader = await whoLeads(c);
    expect(leader.held && 'holder' in leader.value && leader.value.holder).toBe('host-b');
    await b.release();
    console.log(
      `etcd paused: fenced ${Math.round(fencedAfter)} ms after the last good renewal (ttl 3000 ms, margin 750 ms)`,
    );
  });

  it('etcd unreachable at start: acquiring fails with the reason, after the wait', async () => {
    const etcd = await startEtcd();
    await etcd.stop();
    const started = performance.now();
    const attempt = LeaseHolder.acquire(config(etcd.endpoint), value('host-a'), {
      waitMs: 1000,
      clock: systemClock,
      events: collect().events,
    });
    await expect(attempt).rejects.toThrow(/cannot reach etcd at http:\/\/127\.0\.0\.1:\d+/);
    expect(performance.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('someone deletes the key: the holder notices at its next renewal and fences', async () => {
    const etcd = await startEtcd();
    const c = config(etcd.endpoint);
    const a = collect();
    const holder = await LeaseHolder.acquire(c, value('host-a'), { waitMs: 0, clock: systemClock, events: a.events });
    const { Etcd3 } = await import('etcd3');
    const raw = new Etcd3({ hosts: etcd.endpoint });
    await raw.delete().key(`${c.prefix}/${c.name}/leader`);
    raw.close();
    await waitUntil(() => a.fenced.length > 0, 3000);
    expect(a.fenced[0]!.reason).toMatch(/was deleted while lease \d+ was alive/);
    await holder.stop();
  });
});

async function waitUntil(probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!probe()) {
    if (performance.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
