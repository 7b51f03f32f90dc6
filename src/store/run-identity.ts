import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomically } from '../fs/atomic-file.js';
import { parseJsonWith, readJsonFileSync } from '../fs/json-file.js';

// A run is one life of an images directory: the checkpoints numbered 00000001, 00000002… by supervisors
// that continue each other there. Its id, random, is what tells a backup that two checkpoints named
// 00000001 are not the same one: a primary started on a fresh directory (which numbers from 00000001
// again) or a second primary is a new run, never mixed with the old one.
//
//   IMAGES/run.json   {"id": "…uuid…", "started": "2026-12-01T13:40:00.000Z", "host": "primary-1"}

/** The file in the images directory that names its run. */
export const RUN_FILE = 'run.json';

/** A run.json is ~120 bytes (a host name is at most 255); past this it is not one. */
const RUN_FILE_MAX_BYTES = 4 << 10;

/** A run id: a random UUID in lowercase, also used as a directory name on the backup. */
export const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export const runIdentitySchema = z.strictObject({
  id: z.string().regex(RUN_ID, 'must be a lowercase UUID'),
  /** When the run's first supervisor started, by the primary's clock. */
  started: z.iso.datetime({ offset: true }),
  /** The primary's host name, for people reading logs: it proves nothing. */
  host: z.string().min(1).max(255),
});

export type RunIdentity = z.infer<typeof runIdentitySchema>;

/** A new run's identity. */
export function newRunIdentity(now: Date): RunIdentity {
  return { id: randomUUID(), started: now.toISOString(), host: hostname() };
}

/** The run named in ROOT/run.json; undefined if there is none; throws with the file named if it is not valid. */
export function readRunIdentity(root: string): RunIdentity | undefined {
  return readJsonFileSync(runIdentitySchema, join(root, RUN_FILE), RUN_FILE_MAX_BYTES, 'a run identity');
}

/** Parses a run.json text; the error names `where`. */
export function parseRunIdentity(text: string, where: string): RunIdentity {
  return parseJsonWith(runIdentitySchema, text, where, 'a run identity');
}

/**
 * Writes ROOT/run.json atomically and durably (a reader sees the old run or the new one, and a crash after
 * the first checkpoint cannot bring back no run.json, which would start another run), readable by its owner only.
 */
export async function writeRunIdentity(root: string, identity: RunIdentity): Promise<void> {
  await writeJsonAtomically(join(root, RUN_FILE), identity, { maxBytes: RUN_FILE_MAX_BYTES, mode: 0o600 });
}

/**
 * The run a supervisor starting on ROOT belongs to, and why. With checkpoints there, it continues their
 * run (it numbers on after them, and a delta chain may continue). Without any, it numbers from 00000001:
 * a new run. A missing or unreadable run.json also starts a new one (the numbering still goes on, so no
 * name repeats within a run).
 */
export async function openRun(
  root: string,
  hasCheckpoints: boolean,
  now: Date,
): Promise<{ identity: RunIdentity; reason: string }> {
  let why = 'no checkpoints here: a new run';
  if (hasCheckpoints) {
    try {
      const existing = readRunIdentity(root);
      if (existing !== undefined)
        return { identity: existing, reason: `continuing run ${existing.id} (started ${existing.started})` };
      why = `checkpoints but no ${RUN_FILE} here: a new run`;
    } catch (error) {
      why = `${error instanceof Error ? error.message : String(error)}: a new run`;
    }
  }
  const identity = newRunIdentity(now);
  await writeRunIdentity(root, identity);
  return { identity, reason: `${why} ${identity.id}` };
}
