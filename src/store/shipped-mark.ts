// IMAGES/shipped.json: the newest checkpoint the backup holds with its whole chain, as `remusd ship` last
// heard it acknowledged. The supervisor's compaction reads it so as to flatten only links the backup has:
// a link flattened before it was shipped leaves the backup without its delta (the primary now holds a full
// base under that name), and the shipper must then send the whole memory, the full-size transfer compaction
// exists to avoid, or fail on links retention removed meanwhile (ENOENT) and retry.
//
//   IMAGES/shipped.json   {"run": "…uuid…", "name": "00000042", "acked_at": "2026-12-03T04:00:00.000Z"}
//
// The mark is advice, never trusted for safety: a missing, stale or damaged one only makes compaction wait
// longer (up to new_chain_every's bound) or not at all. It is written without fsync for that reason: after a
// power cut an older mark only makes compaction wait until the shipper acknowledges again.

import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomically } from '../fs/atomic-file.js';
import { readJsonFileSync } from '../fs/json-file.js';
import { RUN_ID } from './run-identity.js';
import { COMPLETE } from './checkpoints.js';

/** The mark's file in the images directory. */
export const SHIPPED_FILE = 'shipped.json';

/** ~110 bytes; past this it is not one. */
const SHIPPED_FILE_MAX_BYTES = 1 << 10;

const shippedMarkSchema = z.strictObject({
  run: z.string().regex(RUN_ID, 'must be a lowercase UUID'),
  name: z.string().regex(COMPLETE, 'must be a checkpoint name (8 digits)'),
  acked_at: z.iso.datetime({ offset: true }),
});

export type ShippedMark = z.infer<typeof shippedMarkSchema>;

/** Records that the backup acknowledged checkpoint `name` of `run` (and so holds its whole chain). */
export async function writeShippedMark(images: string, run: string, name: string, at: Date): Promise<void> {
  const mark: ShippedMark = { run, name, acked_at: at.toISOString() };
  await writeJsonAtomically(join(images, SHIPPED_FILE), mark, { maxBytes: SHIPPED_FILE_MAX_BYTES, durable: false });
}

/** The mark in IMAGES/shipped.json; undefined when there is none; throws naming the file and field when it is not valid. */
export function readShippedMark(images: string): ShippedMark | undefined {
  return readJsonFileSync(shippedMarkSchema, join(images, SHIPPED_FILE), SHIPPED_FILE_MAX_BYTES, 'a shipped mark');
}
