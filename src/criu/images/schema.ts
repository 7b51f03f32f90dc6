// The protobuf message types of the CRIU images remusd reads, loaded once from src/criu/proto/,
// and the two conversions every decoder needs from protobufjs' representation (presence, u64).
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { ImageError } from './errors.js';

// src/criu/images/schema.ts and dist/criu/images/schema.js both sit three levels below the
// package root, so this one relative path finds the .proto files from vitest and from dist.
const PROTO_DIR = fileURLToPath(new URL('../../../src/criu/proto/', import.meta.url));

// keepCase: the field names stay CRIU's snake_case, the same as the model's DumpStats keys.
const root = new protobuf.Root().loadSync(
  ['stats.proto', 'pagemap.proto', 'inventory.proto'].map((f) => PROTO_DIR + f),
  { keepCase: true },
);
root.resolveAll();

// Looks up one message type of the loaded schema.
function messageType(name: string): protobuf.Type {
  return root.lookupType(`remusd.criu.${name}`);
}

// The message types, by the image they belong to.
export const types = {
  stats: messageType('Stats'),
  dumpStats: messageType('DumpStats'),
  restoreStats: messageType('RestoreStats'),
  pagemapHead: messageType('PagemapHead'),
  pagemapEntry: messageType('PagemapEntry'),
  inventory: messageType('Inventory'),
  inventoryPlugins: messageType('InventoryPlugins'),
} as const;

// A decoded message seen as plain fields; decoders read it only through the helpers below.
export type DecodedMessage = Record<string, unknown>;

// Whether a decoded value is a message: a non-null object, whose own keys are the fields on the wire.
export function isDecodedMessage(value: unknown): value is DecodedMessage {
  return typeof value === 'object' && value !== null;
}

// Whether the field was on the wire: protobufjs puts defaults on the prototype, so `in`/truthiness lie.
export function has(message: DecodedMessage, field: string): boolean {
  return Object.prototype.hasOwnProperty.call(message, field);
}

// Where a value came from, for the error raised when it does not fit a number.
export interface FieldSite {
  file: string;
  offset: number;
  field: string;
}

// The error for a field whose decoded value is not of the kind its .proto type promises.
function wrongKind(site: FieldSite, kind: string, value: unknown): ImageError {
  return new ImageError({
    file: site.file,
    offset: site.offset,
    expected: `${site.field} to be ${kind}`,
    found: typeof value,
    code: 'bad-message',
  });
}

// Whether a value is a Long as protobufjs builds it for u64s when long.js is loaded.
function isLong(value: unknown): value is { high: number; low: number } {
  return (
    typeof value === 'object' &&
    value !== null &&
    'high' in value &&
    'low' in value &&
    typeof value.high === 'number' &&
    typeof value.low === 'number'
  );
}

// Splits a protobufjs u64 (a Long when long.js is loaded, else a number) into unsigned halves.
function u64Halves(value: unknown, site: FieldSite): { hi: number; lo: number } {
  if (typeof value === 'number') return { hi: Math.floor(value / 2 ** 32), lo: value >>> 0 };
  if (!isLong(value)) throw wrongKind(site, 'a u64', value);
  return { hi: value.high >>> 0, lo: value.low >>> 0 };
}

// A u32 field's value; an ImageError (never a TypeError later) when the decoder gave something else.
// Takes the site's parts, not a FieldSite: it runs per pagemap entry, and the object is built only on error.
export function u32Field(message: DecodedMessage, field: string, file: string, offset: number): number {
  const value = message[field];
  if (typeof value !== 'number') throw wrongKind({ file, offset, field }, 'a u32', value);
  return value;
}

// A bool field's value; an ImageError when the decoder gave something else.
export function boolValue(value: unknown, site: FieldSite): boolean {
  if (typeof value !== 'boolean') throw wrongKind(site, 'a bool', value);
  return value;
}

// A string field's value; an ImageError when the decoder gave something else.
export function stringValue(value: unknown, site: FieldSite): string {
  if (typeof value !== 'string') throw wrongKind(site, 'a string', value);
  return value;
}

// A nested message field's value; an ImageError when the decoder gave something else.
export function messageField(message: DecodedMessage, field: string, file: string, offset: number): DecodedMessage {
  const value = message[field];
  if (!isDecodedMessage(value)) throw wrongKind({ file, offset, field }, 'a message', value);
  return value;
}

// A u64 as an exact integer number; an ImageError when it is above Number.MAX_SAFE_INTEGER.
export function u64Safe(value: unknown, site: FieldSite): number {
  const { hi, lo } = u64Halves(value, site);
  if (hi > 0x1fffff) throw tooBig(hi, lo, site, 'at most 2^53-1');
  return hi * 2 ** 32 + lo;
}

// A u64 as a number when a double holds it exactly (every page-aligned address does, up to
// 2^64); an ImageError otherwise, never a silently rounded address.
export function u64Exact(value: unknown, site: FieldSite): number {
  const { hi, lo } = u64Halves(value, site);
  const n = hi * 2 ** 32 + lo;
  if (hi > 0x1fffff && BigInt(n) !== ((BigInt(hi) << 32n) | BigInt(lo))) {
    throw tooBig(hi, lo, site, 'a value a double holds exactly');
  }
  return n;
}

// The error for a u64 that a JS number cannot carry.
function tooBig(hi: number, lo: number, site: FieldSite, wanted: string): ImageError {
  const exact = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
  return new ImageError({
    file: site.file,
    offset: site.offset,
    expected: `${site.field} to be ${wanted}`,
    found: exact,
    code: 'bad-message',
  });
}
