// output_commit.degrade_after: how long a primary whose output waits for the backup's ack goes on waiting
// before it releases epochs on its own fsync, unprotected (Remus: a failed backup leaves the primary running
// alone). Only with fencing: the primary first records in etcd what it released unacknowledged, and a backup
// refuses to restore anything older (src/fence/released.ts). Without etcd there is nowhere to record that, so
// a degraded primary could let a later failover silently undo what clients saw: no degrading then.
//
//   output_commit:
//     release_after: backup-ack
//     degrade_after: 10s            # a duration ≥ 500ms, or never (the output stalls while the backup is away)

import type { ConfigFile } from './schema.js';
import type { FencingConfig } from './fencing.js';
import type { RuleViolation } from './rules.js';
import { field } from './fields.js';
import { parseDuration, type Parsed } from './units.js';

/** The shortest degrade_after: below it an ack that is merely slow under load (seen: 1-3 s at a load of 20) degrades. */
export const MIN_DEGRADE_AFTER_MS = 500;

/**
 * The default with fencing etcd and release_after backup-ack: long enough that a backup slowed by load or a
 * short network hiccup does not degrade (acks took up to 3 s here at a load of 20 on 2 cores), short enough
 * that clients see a pause, not an outage. Without fencing: never (see above).
 */
export const DEFAULT_DEGRADE_AFTER_MS = 10_000;

/** A duration, or `never` (null). */
export const degradeAfterField = field('a duration (e.g. 10s) or never', (value): Parsed<number | null> => {
  if (value === 'never') return { ok: true, value: null };
  const parsed = parseDuration(value);
  if (parsed.ok && parsed.value < MIN_DEGRADE_AFTER_MS)
    return { ok: false, error: `is below the minimum of ${MIN_DEGRADE_AFTER_MS}ms; write a longer duration, or never` };
  return parsed;
});

/** The normalized value in ms (null: never), from what was written and the other keys. */
export function normalizeDegradeAfter(
  written: number | null | undefined,
  releaseAfter: string,
  fencing: FencingConfig,
): number | null {
  if (written !== undefined) return written;
  return releaseAfter === 'backup-ack' && fencing.kind === 'etcd' ? DEFAULT_DEGRADE_AFTER_MS : null;
}

/** A degrade_after duration needs release_after backup-ack (nothing else waits) and fencing etcd (where the release is recorded). */
export function degradeRules(file: ConfigFile, releaseAfter: string, fencing: FencingConfig): RuleViolation[] {
  const written = file.output_commit?.degrade_after;
  if (written === undefined || written === null) return [];
  const path = ['output_commit', 'degrade_after'];
  if (releaseAfter !== 'backup-ack')
    return [
      {
        path,
        value: written,
        message: 'only applies with release_after: backup-ack (nothing else waits for the backup); remove it',
      },
    ];
  if (fencing.kind !== 'etcd') {
    return [
      {
        path,
        value: written,
        message:
          'needs fencing.kind etcd: a degraded primary records what it released unacknowledged there, so that no failover restores an older checkpoint; add fencing or write never',
      },
    ];
  }
  return [];
}
