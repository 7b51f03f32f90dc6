// CRIU's image container: leading magic words, then protobuf messages each behind a u32-LE length.
// Pure byte work except readImageBytes, the one place a file is read.
import { FileReadError, readRegularFile } from '../../fs/regular-file.js';
import protobuf from 'protobufjs';
import { ImageError, ioError } from './errors.js';
import { isDecodedMessage, type DecodedMessage } from './schema.js';

/** First word of service files (stats-dump, stats-restore). */
export const IMG_SERVICE_MAGIC = 0x55105940;
/** First word of every v1.1 image except inventory.img. */
export const IMG_COMMON_MAGIC = 0x54564319;
/** Second word of stats-dump / stats-restore. */
export const STATS_MAGIC = 0x57093306;
/** Only word of inventory.img's head. */
export const INVENTORY_MAGIC = 0x58313116;
/** Second word of pagemap-PID.img and pagemap-shmem images. */
export const PAGEMAP_MAGIC = 0x56084025;

// No CRIU entry comes near this (a mm entry with 65k VMAs is ~3 MiB); a bigger prefix is corruption.
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

// How one kind of image file is laid out.
export interface ImageFormat {
  /** Name of the entries, for error messages ("pagemap entry"). */
  readonly entry: string;
  /** The u32-LE words the file starts with. */
  readonly magics: readonly number[];
  /** Exactly one entry (stats, inventory), or any number until end of file. */
  readonly single: boolean;
}

// stats-dump / stats-restore: service magic pair, one stats message.
export const STATS_FORMAT: ImageFormat = {
  entry: 'stats entry',
  magics: [IMG_SERVICE_MAGIC, STATS_MAGIC],
  single: true,
};
// pagemap-*.img: common magic pair, a head entry then page-run entries.
export const PAGEMAP_FORMAT: ImageFormat = {
  entry: 'pagemap entry',
  magics: [IMG_COMMON_MAGIC, PAGEMAP_MAGIC],
  single: false,
};
// inventory.img: its own magic alone (CRIU predates the common head for it), one entry.
export const INVENTORY_FORMAT: ImageFormat = { entry: 'inventory entry', magics: [INVENTORY_MAGIC], single: true };

// Where one entry's message lies in the file.
export interface EntrySpan {
  /** Offset of the u32 length prefix. */
  readonly prefix: number;
  /** Offset of the first message byte. */
  readonly start: number;
  readonly length: number;
}

// Formats a u32 the way CRIU's magic numbers are written in its sources.
function hex32(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

// Reads a u32-LE without DataView allocation (hot in the pagemap loop).
function u32le(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16) | ((bytes[at + 3] ?? 0) << 24)) >>> 0
  );
}

// Checks the leading magic words; a short file that matches so far is 'truncated', a mismatch 'bad-magic'.
function checkMagics(bytes: Uint8Array, label: string, format: ImageFormat): number {
  let at = 0;
  for (const magic of format.magics) {
    const have = Math.min(4, bytes.length - at);
    for (let i = 0; i < have; i++) {
      if (bytes[at + i] !== ((magic >>> (8 * i)) & 0xff)) {
        const found = have === 4 ? hex32(u32le(bytes, at)) : `${have} bytes that do not match it`;
        throw new ImageError({ file: label, offset: at, expected: `magic ${hex32(magic)}`, found, code: 'bad-magic' });
      }
    }
    if (have < 4) {
      const found = `end of file after ${have} bytes`;
      throw new ImageError({ file: label, offset: at, expected: `magic ${hex32(magic)}`, found, code: 'truncated' });
    }
    at += 4;
  }
  return at;
}

// Splits an image into its entries' spans after checking its magic words and every length prefix.
export function splitEntries(bytes: Uint8Array, label: string, format: ImageFormat): EntrySpan[] {
  const spans: EntrySpan[] = [];
  let at = checkMagics(bytes, label, format);
  while (at < bytes.length || (format.single && spans.length === 0)) {
    if (format.single && spans.length === 1) {
      const found = `${bytes.length - at} more bytes`;
      throw new ImageError({
        file: label,
        offset: at,
        expected: `end of file after the ${format.entry}`,
        found,
        code: 'bad-length',
      });
    }
    const left = bytes.length - at;
    if (left < 4) {
      const found = left === 0 ? 'end of file' : `end of file after ${left} bytes`;
      throw new ImageError({ file: label, offset: at, expected: 'a u32 length prefix', found, code: 'truncated' });
    }
    const length = u32le(bytes, at);
    if (length > MAX_ENTRY_BYTES) {
      const expected = `a ${format.entry} length of at most ${MAX_ENTRY_BYTES} bytes`;
      throw new ImageError({ file: label, offset: at, expected, found: `${length}`, code: 'bad-length' });
    }
    if (length > left - 4) {
      const found = `end of file after ${left - 4} bytes`;
      throw new ImageError({
        file: label,
        offset: at + 4,
        expected: `a ${length}-byte ${format.entry}`,
        found,
        code: 'truncated',
      });
    }
    spans.push({ prefix: at, start: at + 4, length });
    at += 4 + length;
  }
  return spans;
}

// The one entry of a single-entry image (stats, inventory), after the same checks as splitEntries.
export function singleEntry(bytes: Uint8Array, label: string, format: ImageFormat): EntrySpan {
  const [span] = splitEntries(bytes, label, format);
  if (span === undefined) {
    throw new ImageError({
      file: label,
      offset: bytes.length,
      expected: `a ${format.entry}`,
      found: 'end of file',
      code: 'truncated',
    });
  }
  return span;
}

// A reader over a whole image, reused for every entry of it.
export function entryReader(bytes: Uint8Array, keepUnknown: boolean): protobuf.Reader {
  const reader = protobuf.Reader.create(bytes);
  // Unknown fields are kept only where an image is written back (inventory); elsewhere skip them.
  reader.discardUnknown = !keepUnknown;
  return reader;
}

// Decodes one entry with the given type, turning any protobufjs failure into an ImageError.
export function decodeEntry(
  type: protobuf.Type,
  reader: protobuf.Reader,
  span: EntrySpan,
  label: string,
  what: string,
): DecodedMessage {
  reader.pos = span.start;
  reader.len = span.start + span.length;
  // protobufjs types decode() as Message<{}>, a class with no index signature: seen as unknown, and checked
  // to be an object, it is plain fields that decoders then read only through schema.ts's checked accessors.
  let message: unknown;
  try {
    message = type.decode(reader, span.length);
  } catch (err) {
    throw entryError(err, reader, span, label, what);
  }
  if (!isDecodedMessage(message)) {
    throw new ImageError({
      file: label,
      offset: span.start,
      expected: `a ${what}`,
      found: typeof message,
      code: 'bad-message',
    });
  }
  return message;
}

// Maps a protobufjs exception to the ImageError that says where and what.
function entryError(err: unknown, reader: protobuf.Reader, span: EntrySpan, label: string, what: string): ImageError {
  const text = err instanceof Error ? err.message : String(err);
  if (err instanceof protobuf.util.ProtocolError) {
    // protobufjs says "missing required 'name'"; the whole message lacks it, so point at its start.
    const field = /'([^']*)'/.exec(text)?.[1] ?? text;
    return new ImageError(
      {
        file: label,
        offset: span.start,
        expected: `field ${field} in the ${what}`,
        found: 'it missing',
        code: 'missing-field',
      },
      { cause: err },
    );
  }
  const offset = Math.min(Math.max(reader.pos, span.start), span.start + span.length);
  return new ImageError(
    {
      file: label,
      offset,
      expected: `a well-formed ${what} message (${span.length} bytes from byte ${span.start})`,
      found: text,
      code: 'bad-message',
    },
    { cause: err },
  );
}

// Builds an image file: the format's magic words, then each message behind its u32-LE length.
export function joinEntries(format: ImageFormat, messages: readonly Uint8Array[]): Uint8Array {
  if (format.single && messages.length !== 1) {
    throw new RangeError(`a ${format.entry} image holds exactly one message, not ${messages.length}`);
  }
  let size = 4 * format.magics.length;
  for (const m of messages) size += 4 + m.length;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const magic of format.magics) {
    view.setUint32(at, magic, true);
    at += 4;
  }
  for (const m of messages) {
    view.setUint32(at, m.length, true);
    out.set(m, at + 4);
    at += 4 + m.length;
  }
  return out;
}

/** Cap on reading a stats-dump or stats-restore: CRIU's are under 100 bytes. */
export const STATS_MAX_BYTES = 64 * 1024;
/**
 * Cap on reading any other image whole (pagemaps, inventory): a pagemap has one ~24-byte entry per run of
 * pages, so even a 64 GiB process with every other page changed (16 M runs, ~400 MB) stays under it.
 */
export const IMAGE_MAX_BYTES = 1024 * 1024 * 1024;

// Reads an image file whole (a regular file, at most maxBytes); failures become 'io' ImageErrors naming the path.
export async function readImageBytes(path: string, maxBytes = IMAGE_MAX_BYTES): Promise<Uint8Array> {
  try {
    return await readRegularFile(path, maxBytes);
  } catch (err) {
    throw imageReadError(path, err);
  }
}

// A FileReadError as an 'io' ImageError: system errors keep their code (ENOENT, …) as what was found.
export function imageReadError(path: string, err: unknown): ImageError {
  if (err instanceof FileReadError && (err.code === 'not-regular' || err.code === 'too-large')) {
    return new ImageError(
      { file: path, offset: 0, expected: 'a readable regular file', found: err.reason.replace(/^is /, ''), code: 'io' },
      { cause: err },
    );
  }
  return ioError(path, err instanceof Error ? (err.cause ?? err) : err);
}
