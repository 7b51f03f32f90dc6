import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fenceAtMs,
  granted,
  lost,
  nextAction,
  renewed,
  renewFailed,
  RETRY_MS,
  type LeaseState,
} from '../../src/fence/lease-state.js';

const timing = { ttlMs: 5000, renewEveryMs: 1666, marginMs: 1000 };
const held = (state: LeaseState) => {
  if (state.phase !== 'held') throw new Error(`expected held, got ${JSON.stringify(state)}`);
  return state;
};

describe('lease state (injected clock)', () => {
  it('a fresh lease renews after renew_every and fences at grant + ttl − margin without renewals', () => {
    const s = granted(timing, '7', 1000, 5000);
    expect(nextAction(s, timing, 1000)).toEqual({ type: 'wait', untilMs: 2666 });
    expect(nextAction(s, timing, 2666)).toEqual({ type: 'renew', deadlineMs: 5000 });
    expect(nextAction(s, timing, 4999).type).toBe('renew');
    const fence = nextAction(s, timing, 5000);
    expect(fence.type).toBe('fence');
    expect(fence.type === 'fence' && fence.reason).toMatch(
      /could not renew lease 7 for 4000 ms \(0 failed attempt\(s\); no renewal answered\)/,
    );
  });

  it('a renewal moves the deadline to its send time + ttl, never back', () => {
    let s = granted(timing, '7', 0, 5000);
    s = renewed(s, timing, 1666, 5000, 1700);
    expect(fenceAtMs(held(s), timing)).toBe(1666 + 5000 - 1000);
    // An older request answered late does not shorten it.
    s = renewed(s, timing, 1000, 5000, 1800);
    expect(fenceAtMs(held(s), timing)).toBe(5666);
    // etcd granting less than asked shortens it.
    s = renewed(s, timing, 3000, 3000, 3010);
    expect(held(s).validUntilMs).toBe(6666);
  });

  it('failures retry quickly and fence at the deadline, naming the last error', () => {
    let s = granted(timing, '9', 0, 5000);
    s = renewFailed(s, timing, 'connection refused', 1666);
    expect(nextAction(s, timing, 1700)).toEqual({ type: 'wait', untilMs: 1666 + RETRY_MS });
    s = renewFailed(s, timing, 'deadline exceeded', 3900);
    const fence = nextAction(s, timing, 4000);
    expect(fence.type === 'fence' && fence.reason).toMatch(/2 failed attempt\(s\); last error: deadline exceeded/);
  });

  it('etcd answering TTL ≤ 0, or a lost key, fences at once and for good', () => {
    const s = renewed(granted(timing, '5', 0, 5000), timing, 1666, 0, 1670);
    expect(s).toMatchObject({ phase: 'fenced', atMs: 1670 });
    expect(nextAction(s, timing, 1670)).toEqual({
      type: 'fence',
      reason: 'etcd says lease 5 has expired or was revoked',
    });
    // Fenced is terminal: a later success does not revive it.
    expect(renewed(s, timing, 1700, 5000, 1710)).toBe(s);
    const l = lost(granted(timing, '5', 0, 5000), '/remusd/web/leader now holds another lease', 100);
    expect(nextAction(l, timing, 100)).toMatchObject({ type: 'fence' });
  });

  it('property: while held, the fence deadline is at least margin before the earliest possible expiry in etcd', () => {
    // A renewal sent at `sent` is handled by etcd at some h ≥ sent, which then expires the lease at h + ttl
    // (ttl as etcd answered, at most what was asked). The earliest possible expiry is therefore sent + ttl of the
    // newest successful renewal; the holder must fence no later than that minus the margin.
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            gap: fc.integer({ min: 1, max: 3000 }),
            ok: fc.boolean(),
            latency: fc.integer({ min: 0, max: 2000 }),
            ttl: fc.integer({ min: -1, max: 5 }),
          }),
          { maxLength: 40 },
        ),
        (events) => {
          let now = 0;
          let s: LeaseState = granted(timing, '1', 0, timing.ttlMs);
          let earliestExpiry = timing.ttlMs;
          for (const e of events) {
            const sent = now + e.gap;
            now = sent + e.latency;
            const ttlMs = e.ttl * 1000;
            if (e.ok) {
              if (ttlMs > 0) earliestExpiry = Math.max(earliestExpiry, sent + ttlMs);
              s = renewed(s, timing, sent, ttlMs, now);
            } else {
              s = renewFailed(s, timing, 'x', now);
            }
            if (s.phase === 'fenced') return ttlMs <= 0;
            if (fenceAtMs(s, timing) > earliestExpiry - timing.marginMs) return false;
            // And the next action at any time past the deadline is the fence.
            if (nextAction(s, timing, fenceAtMs(s, timing)).type !== 'fence') return false;
          }
          return true;
        },
      ),
    );
  });

  it('property: renewals answered on schedule never fence', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 50 }), (latencies) => {
        let s: LeaseState = granted(timing, '1', 0, timing.ttlMs);
        for (const latency of latencies) {
          const action = nextAction(s, timing, held(s).nextRenewMs);
          if (action.type !== 'renew') return false;
          const sent = held(s).nextRenewMs;
          if (nextAction(s, timing, sent + latency).type === 'fence') return false;
          s = renewed(s, timing, sent, timing.ttlMs, sent + latency);
        }
        return true;
      }),
    );
  });
});
