// The only code that talks to etcd (v3 API, through the etcd3 client over gRPC). Every call has a deadline and
// no hidden retries: the fencing logic decides when to try again, because a retry that outlives the lease
// would be worse than none.

import { readFileSync } from 'node:fs';
import { noop } from 'cockatiel';
import { Etcd3, EtcdLeaseInvalidError, type Lease } from 'etcd3';
import { z } from 'zod';
import type { FencingConfig } from '../config/fencing.js';

export type EtcdFencing = Extract<FencingConfig, { kind: 'etcd' }>;

/** What the leader key says (its value, bounded and validated: etcd is a peer like any other). */
export const leaderValueSchema = z.strictObject({
  holder: z.string().max(64),
  role: z.enum(['primary', 'failed-over']),
  pid: z.number().int().nonnegative(),
  since: z.string().max(40),
  /** The last checkpoint acknowledged by the backup (primary) or restored (failed-over), when known. */
  checkpoint: z.string().max(64).optional(),
});
export type LeaderValue = z.infer<typeof leaderValueSchema>;

/** The leader key as read: free, or held (with the lease and when it was written). */
export type Leader =
  | { held: false; revision: string }
  | { held: true; leaseId: string; value: LeaderValue | { invalid: string }; createRevision: string; revision: string };

const MAX_VALUE_BYTES = 4096;

/** One etcd client for the config's endpoints (TLS when configured); calls time out after callTimeoutMs. */
export function etcdClient(config: EtcdFencing, callTimeoutMs: number): Etcd3 {
  const credentials =
    config.tls === null
      ? undefined
      : {
          rootCertificate: readFileSync(config.tls.ca),
          ...(config.tls.cert === null ? {} : { certChain: readFileSync(config.tls.cert) }),
          ...(config.tls.key === null ? {} : { privateKey: readFileSync(config.tls.key) }),
        };
  return new Etcd3({
    hosts: config.endpoints,
    ...(credentials === undefined ? {} : { credentials }),
    dialTimeout: callTimeoutMs,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + callTimeoutMs }),
    // No retries and no circuit breaker: a breaker that stays open 5 s after three failures would hide a
    // healed network from a renewal that has only seconds left.
    faultHandling: { global: noop, host: () => noop },
  });
}

/** Rejects after ms unless the promise settles first. */
export function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer from etcd within ${Math.round(ms)} ms`)),
      Math.max(0, ms),
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Reads the leader key. */
export async function readLeader(client: Etcd3, key: string, timeoutMs: number): Promise<Leader> {
  const response = await withDeadline(client.get(key).exec(), timeoutMs, `reading ${key}`);
  const kv = response.kvs[0];
  if (kv === undefined) return { held: false, revision: response.header.revision };
  return {
    held: true,
    leaseId: kv.lease,
    value: decodeValue(kv.value),
    createRevision: kv.create_revision,
    revision: response.header.revision,
  };
}

function decodeValue(bytes: Buffer): LeaderValue | { invalid: string } {
  if (bytes.length > MAX_VALUE_BYTES) return { invalid: `${bytes.length} bytes (limit ${MAX_VALUE_BYTES})` };
  try {
    const parsed = leaderValueSchema.safeParse(JSON.parse(bytes.toString('utf8')));
    return parsed.success ? parsed.data : { invalid: parsed.error.issues[0]?.message ?? 'not a leader value' };
  } catch {
    return { invalid: 'not JSON' };
  }
}

/** A granted lease, with when its grant was sent (the start of its TTL, conservatively). */
export interface GrantedLease {
  lease: Lease;
  id: string;
  sentMs: number;
  ttlMs: number;
}

/** Grants a lease of ttlMs (whole seconds). */
export async function grantLease(
  client: Etcd3,
  ttlMs: number,
  timeoutMs: number,
  now: () => number,
): Promise<GrantedLease> {
  const sentMs = now();
  const lease = client.lease(Math.round(ttlMs / 1000), { autoKeepAlive: false });
  lease.on('lost', () => undefined); // reported through keepaliveOnce's answer instead
  const id = await withDeadline(lease.grant(), timeoutMs, 'granting a lease');
  return { lease, id, sentMs, ttlMs };
}

/** Writes the leader key with this lease if (and only if) nobody holds it: one etcd transaction. */
export async function claimLeader(
  client: Etcd3,
  key: string,
  lease: GrantedLease,
  value: LeaderValue,
  timeoutMs: number,
): Promise<Leader & { claimed: boolean }> {
  const result = await withDeadline(
    client
      .if(key, 'Create', '==', 0)
      .then(client.put(key).value(JSON.stringify(value)).lease(lease.id))
      .else(client.get(key))
      .commit(),
    timeoutMs,
    `claiming ${key}`,
  );
  if (result.succeeded)
    return {
      claimed: true,
      held: true,
      leaseId: lease.id,
      value,
      createRevision: result.header.revision,
      revision: result.header.revision,
    };
  const kv = result.responses[0]?.response_range?.kvs[0];
  if (kv === undefined) return { claimed: false, held: false, revision: result.header.revision };
  return {
    claimed: false,
    held: true,
    leaseId: kv.lease,
    value: decodeValue(kv.value),
    createRevision: kv.create_revision,
    revision: result.header.revision,
  };
}

/** Rewrites the leader key's value (e.g. the newest acknowledged checkpoint) while this lease holds it. */
export async function updateLeader(
  client: Etcd3,
  key: string,
  leaseId: string,
  value: LeaderValue,
  timeoutMs: number,
): Promise<boolean> {
  const result = await withDeadline(
    client
      .if(key, 'Lease', '==', leaseId)
      .then(client.put(key).value(JSON.stringify(value)).lease(leaseId))
      .commit(),
    timeoutMs,
    `updating ${key}`,
  );
  return result.succeeded;
}

/** One keepalive; the TTL etcd answered, in ms (≤ 0: the lease is gone). */
export async function keepAlive(lease: Lease, timeoutMs: number): Promise<number> {
  try {
    const answer = await withDeadline(
      lease.keepaliveOnce({ deadline: Date.now() + timeoutMs }),
      timeoutMs,
      'renewing the lease',
    );
    return Number(answer.TTL) * 1000;
  } catch (error) {
    if (error instanceof EtcdLeaseInvalidError) return 0;
    throw error;
  }
}

/** Revokes the lease (its key goes with it). */
export async function revokeLease(lease: Lease, timeoutMs: number): Promise<void> {
  await withDeadline(lease.revoke({ deadline: Date.now() + timeoutMs }), timeoutMs, 'revoking the lease');
}

/** Short text for an etcd error (gRPC's are long and multi-line). */
export function etcdErrorText(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 300);
}

/** Seconds the lease has left in etcd (-1: it has expired or does not exist). */
export async function leaseSecondsLeft(client: Etcd3, leaseId: string, timeoutMs: number): Promise<number> {
  const answer = await withDeadline(
    client.leaseClient.leaseTimeToLive({ ID: leaseId }),
    timeoutMs,
    'reading the lease TTL',
  );
  return Number(answer.TTL);
}
