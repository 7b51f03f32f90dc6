// stats-dump / stats-restore: decode to the model's DumpStats / RestoreStats, encode back, read from a dump dir.
import { errorCode } from '../../fs/error-code.js';
import { readRegularFileSync } from '../../fs/regular-file.js';
import { join } from 'node:path';
import type { DumpStats, RestoreStats } from '../../model/stats.js';
import { ImageError } from './errors.js';
import {
  STATS_FORMAT,
  STATS_MAX_BYTES,
  decodeEntry,
  entryReader,
  imageReadError,
  joinEntries,
  readImageBytes,
  singleEntry,
} from './framing.js';
import { has, messageField, types, u32Field, u64Safe, type DecodedMessage } from './schema.js';

// What one stats image holds: CRIU writes a dump entry after dump/pre-dump and a restore entry after restore.
export type StatsImage = { kind: 'dump'; dump: DumpStats } | { kind: 'restore'; restore: RestoreStats };

// One numeric field: its width on the wire and whether CRIU must write it.
interface FieldSpec<K extends string> {
  name: K;
  u64: boolean;
  required: boolean;
}

// Field table of dump_stats_entry (numbers are in stats.proto; order here is only for reading).
const DUMP_FIELDS: readonly FieldSpec<keyof DumpStats>[] = [
  { name: 'freezing_time', u64: false, required: true },
  { name: 'frozen_time', u64: false, required: true },
  { name: 'memdump_time', u64: false, required: true },
  { name: 'memwrite_time', u64: false, required: true },
  { name: 'pages_scanned', u64: true, required: true },
  { name: 'pages_skipped_parent', u64: true, required: true },
  { name: 'pages_written', u64: true, required: true },
  { name: 'irmap_resolve', u64: false, required: false },
  { name: 'pages_lazy', u64: true, required: false },
  { name: 'page_pipes', u64: true, required: false },
  { name: 'page_pipe_bufs', u64: true, required: false },
  { name: 'shpages_scanned', u64: true, required: false },
  { name: 'shpages_skipped_parent', u64: true, required: false },
  { name: 'shpages_written', u64: true, required: false },
];

// Field table of restore_stats_entry.
const RESTORE_FIELDS: readonly FieldSpec<keyof RestoreStats>[] = [
  { name: 'pages_compared', u64: true, required: true },
  { name: 'pages_skipped_cow', u64: true, required: true },
  { name: 'forking_time', u64: false, required: true },
  { name: 'restore_time', u64: false, required: true },
  { name: 'pages_restored', u64: true, required: false },
];

// Copies the fields of a decoded entry into plain numbers (u64s checked against 2^53).
function readFields<K extends string>(
  message: DecodedMessage,
  fields: readonly FieldSpec<K>[],
  file: string,
  offset: number,
): Record<K, number> {
  // Partial until the loop below fills it; the optional keys of DumpStats/RestoreStats stay absent if unwritten.
  const out: Partial<Record<K, number>> = {};
  for (const f of fields) {
    // Required fields are guaranteed present by the decoder; optional ones are copied only if written.
    if (!has(message, f.name)) continue;
    out[f.name] = f.u64
      ? u64Safe(message[f.name], { file, offset, field: f.name })
      : u32Field(message, f.name, file, offset);
  }
  // Every required field is set: stats.proto marks them `required`, and protobufjs' decode throws on a missing one
  // (decodeEntry turns that into a 'missing-field' ImageError), so only optional keys can be absent here.
  // oxlint-disable-next-line typescript/no-unsafe-type-assertion
  return out as Record<K, number>;
}

// Decodes a stats-dump or stats-restore image; throws ImageError on anything malformed.
export function decodeStats(bytes: Uint8Array, label: string): StatsImage {
  const span = singleEntry(bytes, label, STATS_FORMAT);
  const entry = decodeEntry(types.stats, entryReader(bytes, false), span, label, 'stats entry');
  const hasDump = has(entry, 'dump');
  const hasRestore = has(entry, 'restore');
  if (hasDump === hasRestore) {
    const found = hasDump ? 'both' : 'neither';
    const code = hasDump ? 'bad-message' : 'missing-field';
    throw new ImageError({
      file: label,
      offset: span.start,
      expected: 'exactly one of the dump (1) and restore (2) entries',
      found,
      code,
    });
  }
  if (hasDump) {
    const dump = readFields(messageField(entry, 'dump', label, span.start), DUMP_FIELDS, label, span.start);
    return { kind: 'dump', dump };
  }
  const restore = readFields(messageField(entry, 'restore', label, span.start), RESTORE_FIELDS, label, span.start);
  return { kind: 'restore', restore };
}

// Checks a value fits its wire field before encoding (protobufjs would silently wrap or round it).
function checkedFields<K extends string>(
  stats: Partial<Record<K, number>>,
  fields: readonly FieldSpec<K>[],
  what: string,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const f of fields) {
    const value = stats[f.name];
    if (value === undefined) {
      if (f.required) throw new RangeError(`${what}.${f.name} is required`);
      continue;
    }
    const max = f.u64 ? Number.MAX_SAFE_INTEGER : 0xffffffff;
    if (!Number.isInteger(value) || value < 0 || value > max) {
      throw new RangeError(`${what}.${f.name} must be an integer in [0, ${max}], got ${value}`);
    }
    out[f.name] = value;
  }
  return out;
}

// Encodes a stats-dump image as CRIU writes it.
export function encodeDumpStats(stats: DumpStats): Uint8Array {
  const message = types.stats.encode({ dump: checkedFields(stats, DUMP_FIELDS, 'DumpStats') }).finish();
  return joinEntries(STATS_FORMAT, [message]);
}

// Encodes a stats-restore image as CRIU writes it.
export function encodeRestoreStats(stats: RestoreStats): Uint8Array {
  const message = types.stats.encode({ restore: checkedFields(stats, RESTORE_FIELDS, 'RestoreStats') }).finish();
  return joinEntries(STATS_FORMAT, [message]);
}

// Reads and decodes one stats file; a missing or unreadable file is an 'io' ImageError.
export async function readStatsFile(path: string): Promise<StatsImage> {
  return decodeStats(await readImageBytes(path, STATS_MAX_BYTES), path);
}

// Reads one stats file that may legitimately be absent (CRIU writes it only on success).
async function readOptionalStats(path: string): Promise<StatsImage | undefined> {
  try {
    return await readStatsFile(path);
  } catch (err) {
    if (err instanceof ImageError && err.code === 'io' && err.found === 'ENOENT') return undefined;
    throw err;
  }
}

// The error for a stats file holding the other kind of entry than its name promises.
function wrongKind(path: string, wanted: string, found: string): ImageError {
  return new ImageError({
    file: path,
    offset: 8,
    expected: `a ${wanted} stats entry`,
    found: `a ${found} entry`,
    code: 'bad-message',
  });
}

// Reads DIR/stats-dump and DIR/stats-restore; a missing file is absent from the result, a corrupt one throws.
export async function readStatsDir(dir: string): Promise<{ dump?: DumpStats; restore?: RestoreStats }> {
  const dumpPath = join(dir, 'stats-dump');
  const restorePath = join(dir, 'stats-restore');
  const [dump, restore] = await Promise.all([readOptionalStats(dumpPath), readOptionalStats(restorePath)]);
  const out: { dump?: DumpStats; restore?: RestoreStats } = {};
  if (dump !== undefined) {
    if (dump.kind !== 'dump') throw wrongKind(dumpPath, 'dump', dump.kind);
    out.dump = dump.dump;
  }
  if (restore !== undefined) {
    if (restore.kind !== 'restore') throw wrongKind(restorePath, 'restore', restore.kind);
    out.restore = restore.restore;
  }
  return out;
}

// Reads DIR/stats-dump synchronously, for the supervisor's hot path: one small read costs less than a
// thread-pool round trip. Undefined when CRIU wrote none; a corrupt or wrong-kind file throws ImageError.
export function readDumpStatsSync(dir: string): DumpStats | undefined {
  const path = join(dir, 'stats-dump');
  let bytes: Uint8Array;
  try {
    bytes = readRegularFileSync(path, STATS_MAX_BYTES);
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return undefined;
    throw imageReadError(path, err);
  }
  const image = decodeStats(bytes, path);
  if (image.kind !== 'dump') throw wrongKind(path, 'dump', image.kind);
  return image.dump;
}
