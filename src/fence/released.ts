// PREFIX/NAME/released: the newest checkpoint whose epoch's output a degraded primary let out WITHOUT the
// backup's ack (output_commit.degrade_after). The key is not tied to any lease, so it outlives the primary;
// the primary writes it in one transaction with the check that its lease still holds the leader key, and
// only then releases. A backup reads it after it has taken the lease (so every such write came before its
// read: etcd is linearizable) and refuses to restore an older checkpoint: clients have seen output that
// checkpoint does not contain. The primary deletes it once the backup has acknowledged that checkpoint or a
// newer one of the same run.

import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import { leaderKey } from '../config/fencing.js';
import { withDeadline, type EtcdFencing } from './etcd.js';

/** The key, beside the leader key. */
export function releasedKey(config: EtcdFencing): string {
  return `${config.prefix}/${config.name}/released`;
}

export const releasedValueSchema = z.strictObject({
  holder: z.string().max(64),
  /** The primary's run (run.json) and its checkpoint whose epoch, and every earlier one, went out unacknowledged. */
  run: z.string().max(64),
  checkpoint: z.string().regex(/^\d{8}$/),
  /** When it was released, by the primary's clock (ms and ISO): orders it against another run's checkpoints. */
  released_at_ms: z.number().int().nonnegative(),
  released_at: z.string().max(40),
});
export type ReleasedValue = z.infer<typeof releasedValueSchema>;

/** What the key holds: nothing, a valid value, or something a backup must not trust. */
export type Released =
  | { present: false }
  | { present: true; value: ReleasedValue }
  | { present: true; invalid: string };

/** Writes the key if (and only if) this lease still holds the leader key; false: it does not. */
export async function recordReleased(
  client: Etcd3,
  config: EtcdFencing,
  leaseId: string,
  value: ReleasedValue,
  timeoutMs: number,
): Promise<boolean> {
  const result = await withDeadline(
    client
      .if(leaderKey(config), 'Lease', '==', leaseId)
      .then(client.put(releasedKey(config)).value(JSON.stringify(value)))
      .commit(),
    timeoutMs,
    `writing ${releasedKey(config)}`,
  );
  return result.succeeded;
}

/** Deletes the key if this lease still holds the leader key and the key still names `checkpoint` of `run`. */
export async function clearReleased(
  client: Etcd3,
  config: EtcdFencing,
  leaseId: string,
  expected: ReleasedValue,
  timeoutMs: number,
): Promise<boolean> {
  const key = releasedKey(config);
  const result = await withDeadline(
    client
      .if(leaderKey(config), 'Lease', '==', leaseId)
      .and(key, 'Value', '==', JSON.stringify(expected))
      .then(client.delete().key(key))
      .commit(),
    timeoutMs,
    `deleting ${key}`,
  );
  return result.succeeded;
}

/** Reads the key (bounded and validated: etcd is a peer like any other). */
export async function readReleased(client: Etcd3, config: EtcdFencing, timeoutMs: number): Promise<Released> {
  const response = await withDeadline(
    client.get(releasedKey(config)).exec(),
    timeoutMs,
    `reading ${releasedKey(config)}`,
  );
  const kv = response.kvs[0];
  if (kv === undefined) return { present: false };
  if (kv.value.length > 4096) return { present: true, invalid: `${kv.value.length} bytes` };
  try {
    const parsed = releasedValueSchema.safeParse(JSON.parse(kv.value.toString('utf8')));
    return parsed.success
      ? { present: true, value: parsed.data }
      : { present: true, invalid: parsed.error.issues[0]?.message ?? 'not a released value' };
  } catch {
    return { present: true, invalid: 'not JSON' };
  }
}

/** The checkpoint a failover would restore: its run, name and when it was taken (primary's clock). */
export interface RestoreCandidate {
  run: string | undefined;
  name: string;
  takenAtMs: number | undefined;
}

/**
 * Why restoring `candidate` would undo output clients have seen (undefined: it would not). The same run: its
 * names are ordered. Another run: only one whose checkpoint was taken after the unacknowledged release is a
 * later life of the workload; anything else (or not knowing) is refused.
 */
export function staleRestore(released: Released, candidate: RestoreCandidate): string | undefined {
  if (!released.present) return undefined;
  if ('invalid' in released)
    return `the primary's record of output released without the backup's ack is unreadable (${released.invalid}), so no checkpoint can be shown to contain it`;
  const r = released.value;
  const what = `the primary (${r.holder}) ran degraded and released the output of checkpoint ${r.checkpoint} of run ${r.run} at ${r.released_at} without this backup's ack`;
  if (candidate.run === r.run) {
    if (candidate.name >= r.checkpoint) return undefined;
    return `${what}; the newest checkpoint here is ${candidate.name}: restoring it would undo output clients have seen`;
  }
  if (candidate.takenAtMs !== undefined && candidate.takenAtMs > r.released_at_ms) return undefined;
  return `${what}; the newest checkpoint here is ${candidate.name} of run ${candidate.run ?? '(unnamed)'}, not taken after that release: restoring it would undo output clients have seen`;
}
