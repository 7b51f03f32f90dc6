import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { writeJsonAtomically } from '../fs/atomic-file.js';
import { FileReadError, readRegularFileSync } from '../fs/regular-file.js';
import { join } from 'node:path';
import { z } from 'zod';
import { RUN_FILE, RUN_ID, runIdentitySchema, type RunIdentity } from '../store/run-identity.js';
import { COMPLETE, scanCheckpoints } from '../store/checkpoints.js';
import { completeNames } from './completeness.js';
import { MAX_MESSAGE_BYTES } from './protocol.js';
import type { RunHoldings } from './intake.js';
import { describeFirstIssue, MANIFEST_FILE, manifestSchema, type Manifest } from './messages.js';

// The backup keeps each run apart, so that two checkpoints named alike never meet:
//
//   BACKUP/runs/<run id>/run.json            the run as its sender named it, when first seen, newest name landed
//   BACKUP/runs/<run id>/00000012/           a checkpoint, with remusd-manifest.json beside its images
//   BACKUP/runs/<run id>/00000012/parent -> ../00000011   always in the same run directory
//   BACKUP/runs/<run id>/latest -> 00000012
//   BACKUP/failover.json                     the automatic failover's report

export const RUNS_DIR = 'runs';

export const backupRunSchema = runIdentitySchema.extend({
  /** When this backup first heard of the run (its own clock). */
  first_seen_at: z.iso.datetime({ offset: true }),
  /** The newest checkpoint name ever landed in this run: a lower one is refused, even once this one is pruned. */
  newest: z.string().regex(COMPLETE).nullable(),
});

export type BackupRun = z.infer<typeof backupRunSchema>;

/** Where the backup keeps run `id` (an id that is not a lowercase UUID never becomes a path). */
export function runDirectory(root: string, id: string): string {
  if (!RUN_ID.test(id)) throw new Error(`${JSON.stringify(id)} is not a run id`);
  return join(root, RUNS_DIR, id);
}

/** The runs this backup holds (directories under runs/ named like a run id). */
export function listRunDirectories(root: string): { id: string; dir: string }[] {
  let names: string[];
  try {
    names = readdirSync(join(root, RUNS_DIR));
  } catch {
    return [];
  }
  return names.filter((name) => RUN_ID.test(name)).map((id) => ({ id, dir: join(root, RUNS_DIR, id) }));
}

/** A run directory's run.json; throws with the file named if it is missing or not valid. */
export function readBackupRun(dir: string): BackupRun {
  return parseJsonFile(join(dir, RUN_FILE), backupRunSchema);
}

/** A manifest came in one offer message, at most MAX_MESSAGE_BYTES (1 MiB); run.json is ~200 bytes. */
const JSON_MAX_BYTES = MAX_MESSAGE_BYTES;

/**
 * Writes a run directory's run.json atomically and durably: its `newest` is what refuses an older checkpoint
 * name (a replay), so a crash must not bring back an older value once a landing was acknowledged.
 */
export async function writeBackupRun(dir: string, run: BackupRun): Promise<void> {
  await writeJsonAtomically(join(dir, RUN_FILE), run, { maxBytes: JSON_MAX_BYTES });
}

/**
 * The directory of a sender's run, created the first time the run is heard of. A run id already known
 * under another start time or host is refused (the reason is returned): one id is one run, and a sender
 * that reuses another's id must not join its chains.
 */
export async function openBackupRun(
  root: string,
  identity: RunIdentity,
  now: Date,
): Promise<{ ok: true; dir: string; run: BackupRun } | { ok: false; problem: string }> {
  const dir = runDirectory(root, identity.id);
  let known: BackupRun | undefined;
  try {
    known = readBackupRun(dir);
  } catch {
    known = undefined;
  }
  if (known !== undefined) {
    if (known.started !== identity.started || known.host !== identity.host) {
      return {
        ok: false,
        problem: `run ${identity.id} is known here as started ${known.started} on ${known.host}; this sender says ${identity.started} on ${identity.host}: refusing to mix two runs under one id`,
      };
    }
    return { ok: true, dir, run: known };
  }
  await mkdir(dir, { recursive: true });
  const run: BackupRun = { ...identity, first_seen_at: now.toISOString(), newest: null };
  await writeBackupRun(dir, run);
  return { ok: true, dir, run };
}

/** A checkpoint directory's manifest; throws with the file named if it is missing or not valid. */
export function readManifest(checkpointDir: string): Manifest {
  return parseJsonFile(join(checkpointDir, MANIFEST_FILE), manifestSchema);
}

/** How two manifests of the same checkpoint name differ (the first difference), or undefined if they describe the same content. */
export function manifestDifference(held: Manifest, offered: Manifest): string | undefined {
  if (held.run !== offered.run) return `it belongs to run ${offered.run}, the one held to run ${held.run}`;
  if (held.parent !== offered.parent)
    return `its parent is ${offered.parent ?? 'none'}, the held one's ${held.parent ?? 'none'}`;
  const heldFiles = new Map(held.files.map((f) => [f.name, f]));
  for (const file of offered.files) {
    const twin = heldFiles.get(file.name);
    if (twin === undefined) return `it has ${file.name}, the held one has not`;
    if (twin.size !== file.size || twin.xxh64 !== file.xxh64) {
      return `${file.name} is ${file.size} bytes with xxh64 ${file.xxh64}, the held one ${twin.size} bytes with xxh64 ${twin.xxh64}`;
    }
  }
  if (held.files.length !== offered.files.length)
    return `the held one has files this one lacks (${held.files.length} vs ${offered.files.length})`;
  return undefined;
}

function parseJsonFile<T>(path: string, schema: z.ZodType<T>): T {
  let value: unknown;
  try {
    value = JSON.parse(readRegularFileSync(path, JSON_MAX_BYTES).toString('utf8'));
  } catch (error) {
    if (!(error instanceof FileReadError)) throw new Error(`${path}: not JSON`);
    throw new Error(error.code === 'ENOENT' ? `${path}: missing` : error.message);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`${path}: ${describeFirstIssue(parsed.error)}`);
  return parsed.data;
}

/** Records that `name` landed in the run directory: the newest name, if it is newer than the one recorded. */
export async function recordLanded(dir: string, name: string): Promise<void> {
  const run = readBackupRun(dir);
  if (run.newest === null || name > run.newest) await writeBackupRun(dir, { ...run, newest: name });
}

/** What the run directory holds, as far as an offer of `name` is concerned (intake.ts judges it). */
export function holdingsOf(dir: string, name: string): RunHoldings {
  let held: RunHoldings['held'];
  if (existsSync(join(dir, name))) {
    try {
      held = readManifest(join(dir, name));
    } catch {
      held = 'damaged';
    }
  }
  return { newest: readBackupRun(dir).newest, held, complete: completeNames(scanCheckpoints(dir)) };
}
