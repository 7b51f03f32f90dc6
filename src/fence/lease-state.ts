// When a lease holder must renew, and when it must fence itself: a pure function of what etcd answered and
// the time (a monotonic clock in ms, injected), so that the deadlines can be tested exactly.
//
// Why the deadline is safe: etcd starts a lease's new TTL when it *handles* a keepalive, which is after the
// holder *sent* it. So `sent + TTL` (TTL as etcd answered it) is never later than the moment etcd can let
// the key go, and a holder that has fenced by `sent + TTL − margin` is fenced before anyone else can acquire
// the key. The margin absorbs what the argument ignores: clock-rate differences (ppm over seconds), a timer
// firing late on a busy machine, and the time to stop the workload (a SIGSTOP walk: well under 10 ms here).

import type { LeaseTiming } from '../config/fencing.js';

/** A lease this process holds, or the fence that ended it. */
export type LeaseState =
  | {
      phase: 'held';
      leaseId: string;
      /** When it was granted. */
      sinceMs: number;
      /** The lease cannot have expired in etcd before this moment. */
      validUntilMs: number;
      /** When the newest successful renewal was sent (the grant counts as one). */
      renewedSentMs: number;
      /** When the next renewal is due (sooner after a failure). */
      nextRenewMs: number;
      failedRenewals: number;
      lastError: string | undefined;
    }
  | { phase: 'fenced'; leaseId: string; atMs: number; reason: string };

/** What to do now. */
export type LeaseAction =
  | { type: 'renew'; /** Give up on this renewal by then: the fence comes first. */ deadlineMs: number }
  | { type: 'wait'; untilMs: number }
  | { type: 'fence'; reason: string };

/** After a failed renewal, retry this soon (but never later than the regular schedule). */
export const RETRY_MS = 200;

/** The state right after etcd granted the lease; `sentMs`: when the grant request was sent. */
export function granted(timing: LeaseTiming, leaseId: string, sentMs: number, grantedTtlMs: number): LeaseState {
  return {
    phase: 'held',
    leaseId,
    sinceMs: sentMs,
    validUntilMs: sentMs + Math.min(grantedTtlMs, timing.ttlMs),
    renewedSentMs: sentMs,
    nextRenewMs: sentMs + timing.renewEveryMs,
    failedRenewals: 0,
    lastError: undefined,
  };
}

/** A renewal sent at sentMs came back with ttlMs left (≤ 0: etcd says the lease is gone). */
export function renewed(
  state: LeaseState,
  timing: LeaseTiming,
  sentMs: number,
  ttlMs: number,
  nowMs: number,
): LeaseState {
  if (state.phase !== 'held') return state;
  if (ttlMs <= 0) return fenced(state, nowMs, `etcd says lease ${state.leaseId} has expired or was revoked`);
  // A slow answer to an older request must not move the deadline back.
  return {
    ...state,
    validUntilMs: Math.max(state.validUntilMs, sentMs + Math.min(ttlMs, timing.ttlMs)),
    renewedSentMs: Math.max(state.renewedSentMs, sentMs),
    nextRenewMs: sentMs + timing.renewEveryMs,
    failedRenewals: 0,
    lastError: undefined,
  };
}

/** A renewal failed (unreachable, timed out): the lease stays until its deadline; retry soon. */
export function renewFailed(state: LeaseState, timing: LeaseTiming, error: string, nowMs: number): LeaseState {
  if (state.phase !== 'held') return state;
  return {
    ...state,
    failedRenewals: state.failedRenewals + 1,
    lastError: error,
    nextRenewMs: nowMs + Math.min(RETRY_MS, timing.renewEveryMs),
  };
}

/** The lease is known lost (the key holds someone else's lease, or it was revoked): fence at once. */
export function lost(state: LeaseState, reason: string, nowMs: number): LeaseState {
  return state.phase === 'held' ? fenced(state, nowMs, reason) : state;
}

/** The moment the holder fences itself if nothing renews the lease before. */
export function fenceAtMs(state: Extract<LeaseState, { phase: 'held' }>, timing: LeaseTiming): number {
  return state.validUntilMs - timing.marginMs;
}

/** What to do at nowMs. */
export function nextAction(state: LeaseState, timing: LeaseTiming, nowMs: number): LeaseAction {
  if (state.phase === 'fenced') return { type: 'fence', reason: state.reason };
  const fenceAt = fenceAtMs(state, timing);
  if (nowMs >= fenceAt) {
    const since = Math.round(nowMs - state.renewedSentMs);
    const why = state.lastError === undefined ? 'no renewal answered' : `last error: ${state.lastError}`;
    return {
      type: 'fence',
      reason:
        `could not renew lease ${state.leaseId} for ${since} ms (${state.failedRenewals} failed attempt(s); ${why}); ` +
        `it may expire in etcd ${Math.round(state.validUntilMs - nowMs)} ms from now, so another host may take over`,
    };
  }
  if (nowMs >= state.nextRenewMs) return { type: 'renew', deadlineMs: fenceAt };
  return { type: 'wait', untilMs: Math.min(state.nextRenewMs, fenceAt) };
}

/** The state once fenced. */
export function fenced(state: Extract<LeaseState, { phase: 'held' }>, nowMs: number, reason: string): LeaseState {
  return { phase: 'fenced', leaseId: state.leaseId, atMs: nowMs, reason };
}
