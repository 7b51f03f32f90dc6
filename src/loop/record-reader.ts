// The one reader of records.jsonl (real or simulated): trace replay, the plot and calibration all read
// records through it. Each line is checked field by field; a bad one fails with file:line, the field, the
// value and what was expected. Which records start a chain is a field (`chain_start`, schema 2); for
// version 1 lines it is derived from the structure (no parent in an incremental mode), never from reason text.

import { z } from 'zod';
import { errorMessage } from '../fs/error-code.js';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import type { DecisionKind } from '../model/policy.js';
import { RECORD_SCHEMA, type ProbeTrigger, type RecordMode } from '../model/record.js';
import { firstIssue } from '../units/zod-issue.js';

/** A bad records file: the message names the file and, when it is about one line, the line. */
export class RecordsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordsError';
  }
}

/** One record as its readers use it (times in ms, the band when the record carries it). */
export interface ReadRecord {
  /** file:line, for messages. */
  where: string;
  seq: number;
  /** Wall-clock start, ms since the epoch. */
  startMs: number;
  mode: RecordMode;
  policy: string | undefined;
  band: { lminBytes: number; lmaxBytes: number; minMs: number; maxMs: number } | undefined;
  chainStart: boolean;
  intervalMs: number;
  nextIntervalMs: number;
  /** Start to start since the previous checkpoint; undefined for the first of a run. */
  elapsedMs: number | undefined;
  decision: DecisionKind | undefined;
  pagesScanned: number | undefined;
  pagesWritten: number;
  sizeBytes: number;
  frozenUs: number | undefined;
  criuWallMs: number | undefined;
  /** Mode delta: the pages CRIU itself wrote (a full dump) before the rewrite kept only the changed ones. */
  criuPagesWritten: number | undefined;
  /** Mode delta: the rewrite's time. */
  deltaMs: number | undefined;
  /** The supervisor's own time in the checkpoint (fsync, output), beyond CRIU and the rewrite. */
  supervisorOverheadMs: number | undefined;
  overrun: boolean;
  /** Why the dirty-size probe started it (schema 3), or undefined (no probe, or an older record). */
  probeTrigger: ProbeTrigger | undefined;
}

const TRIGGERS = ['aim', 'floor', 'deadline', 'max'] as const;
const MODES = ['pre-dump', 'dump', 'full', 'delta', 'sim'] as const;
const count = z
  .number({ error: 'is not a whole number ≥ 0' })
  .int({ error: 'is not a whole number ≥ 0' })
  .min(0, { error: 'is not a whole number ≥ 0' });
const ms = z.number({ error: 'is not a number of ms ≥ 0' }).min(0, { error: 'is not a number of ms ≥ 0' }).finite();
const lineSchema = z.object({
  schema: z
    .union([z.literal(1), z.literal(2), z.literal(RECORD_SCHEMA)], {
      error: `is not a records schema this remusd reads (1 to ${RECORD_SCHEMA})`,
    })
    .optional(),
  seq: count,
  start: z
    .string({ error: 'is not an ISO-8601 time' })
    .refine((s) => Number.isFinite(Date.parse(s)), { error: 'is not an ISO-8601 time' }),
  mode: z.enum(MODES, { error: `is not one of ${MODES.join(', ')}` }),
  policy: z.string({ error: 'is not a policy kind' }).optional(),
  band: z
    .object(
      { lmin_bytes: count, lmax_bytes: count, min_ms: ms, max_ms: ms },
      { error: 'is not a band {lmin_bytes, lmax_bytes, min_ms, max_ms}' },
    )
    .optional(),
  chain_start: z.boolean({ error: 'is not true or false' }).optional(),
  parent: z.string({ error: 'is not a checkpoint name or null' }).nullable().optional(),
  interval_ms: ms,
  next_interval_ms: ms,
  elapsed_ms: z
    .number({ error: 'is not a number of ms > 0 (or null for the first record of a run)' })
    .positive({ error: 'is not a number of ms > 0 (or null for the first record of a run)' })
    .finite()
    .nullable()
    .optional(),
  decision: z.enum(['shrink', 'grow', 'hold'], { error: 'is not shrink, grow or hold' }).optional(),
  pages_scanned: count.optional(),
  pages_written: count,
  size_bytes: count,
  frozen_us: count.optional(),
  criu_wall_ms: ms.optional(),
  criu_pages_written: count.optional(),
  delta_ms: ms.optional(),
  supervisor_overhead_ms: z.number({ error: 'is not a number of ms' }).finite().optional(),
  overrun: z.boolean({ error: 'is not true or false' }).optional(),
  probe: z
    .object(
      { trigger: z.enum(TRIGGERS, { error: `is not one of ${TRIGGERS.join(', ')}` }) },
      { error: 'is not null or a probe {trigger, reading_bytes, estimate_bytes}' },
    )
    .nullable()
    .optional(),
});

/** Parses records.jsonl text (named `source` in errors); throws RecordsError. Blank lines are skipped. */
export function parseRecords(text: string, source: string): ReadRecord[] {
  const records: ReadRecord[] = [];
  let index = 0;
  for (const line of text.split('\n')) {
    index += 1;
    if (line.trim() === '') continue;
    records.push(parseLine(line, `${source}:${index}`));
  }
  return records;
}

/**
 * The most a records file may hold: a day of 200 ms checkpoints is ~430,000 lines of ~700 bytes (~300 MB).
 * The file is read whole into one string, and V8 caps a string at 2^29 − 24 characters (~512 MiB).
 */
export const RECORDS_MAX_BYTES = 500 * 2 ** 20;

/**
 * A records file's text; throws RecordsError. Regular files only, opened without blocking and read up to
 * RECORDS_MAX_BYTES: a FIFO would hang the read and /dev/zero would grow the process without bound.
 */
export async function readRecordsText(path: string): Promise<string> {
  try {
    return (await readRegularFile(path, RECORDS_MAX_BYTES)).toString('utf8');
  } catch (error) {
    if (!(error instanceof FileReadError)) throw error;
    const why = error.code === 'not-regular' || error.code === 'too-large' ? error.reason : error.code;
    throw new RecordsError(`${path}: cannot read the records file (${why})`);
  }
}

/** Reads a records.jsonl file; throws RecordsError (unreadable file or bad line). */
export async function readRecords(path: string): Promise<ReadRecord[]> {
  return parseRecords(await readRecordsText(path), path);
}

function parseLine(line: string, where: string): ReadRecord {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new RecordsError(`${where}: not a JSON record (${errorMessage(error)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RecordsError(
      `${where}: expected a JSON object (one remusd record), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  }
  const parsed = lineSchema.safeParse(value);
  if (!parsed.success) {
    const { key, found, message } = firstIssue(parsed.error, value);
    throw new RecordsError(`${where}: ${key} ${found === undefined ? '(missing)' : JSON.stringify(found)} ${message}`);
  }
  const r = parsed.data;
  if (r.schema !== undefined && r.schema >= 2 && r.chain_start === undefined)
    throw new RecordsError(`${where}: chain_start (missing) is not true or false`);
  return {
    where,
    seq: r.seq,
    startMs: Date.parse(r.start),
    mode: r.mode,
    policy: r.policy,
    band:
      r.band === undefined
        ? undefined
        : { lminBytes: r.band.lmin_bytes, lmaxBytes: r.band.lmax_bytes, minMs: r.band.min_ms, maxMs: r.band.max_ms },
    // Version 1 had no chain_start: a checkpoint with no parent in an incremental mode started a chain.
    chainStart: r.chain_start ?? (r.mode !== 'full' && r.parent === null),
    intervalMs: r.interval_ms,
    nextIntervalMs: r.next_interval_ms,
    elapsedMs: r.elapsed_ms ?? undefined,
    decision: r.decision,
    pagesScanned: r.pages_scanned,
    pagesWritten: r.pages_written,
    sizeBytes: r.size_bytes,
    frozenUs: r.frozen_us,
    criuWallMs: r.criu_wall_ms,
    criuPagesWritten: r.criu_pages_written,
    deltaMs: r.delta_ms,
    supervisorOverheadMs: r.supervisor_overhead_ms,
    overrun: r.overrun ?? false,
    probeTrigger: r.probe?.trigger,
  };
}
