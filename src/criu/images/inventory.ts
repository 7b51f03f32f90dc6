// inventory.img: the image set's version and global flags; decoded, and encoded back without loss.
import { ImageError } from './errors.js';
import { INVENTORY_FORMAT, decodeEntry, entryReader, joinEntries, readImageBytes, singleEntry } from './framing.js';
import {
  boolValue,
  has,
  messageField,
  stringValue,
  types,
  u32Field,
  u64Safe,
  type DecodedMessage,
  type FieldSite,
} from './schema.js';

/** Image set version 1: images without the common head magic (CRIU before 1.1). */
export const CRIU_IMAGES_V1 = 1;
/** Image set version 1.1: every image but inventory starts with IMG_COMMON_MAGIC; what CRIU 4.x writes. */
export const CRIU_IMAGES_V1_1 = 2;

/** lsmtype: no LSM labels were dumped. */
export const NO_LSM = 0;
/** lsmtype: SELinux labels were dumped. */
export const SELINUX = 1;
/** lsmtype: AppArmor profiles were dumped. */
export const APPARMOR = 2;

/** pre_dump_mode: pages were spliced out of the task (the default). */
export const PRE_DUMP_SPLICE = 1;
/** pre_dump_mode: pages were read with process_vm_readv. */
export const PRE_DUMP_READ = 2;

// inventory.img's one entry, with CRIU's field names in camelCase.
export interface Inventory {
  imgVersion: number;
  fdinfoPerId?: boolean;
  /** task_kobj_ids_entry of the root task, as its raw message bytes. */
  rootIds?: Uint8Array;
  nsPerId?: boolean;
  rootCgSet?: number;
  lsmtype?: number;
  /** Uptime at dump time; CRIU 4.1.1 leaves it out of a plain dump (seen here). */
  dumpUptime?: number;
  preDumpMode?: number;
  tcpClose?: boolean;
  networkLockMethod?: number;
  /** Plugins the dump used; [] (written, empty) differs from absent (not written). */
  plugins?: string[];
  dumpCriuRunId?: string;
  allowUprobes?: boolean;
  /** Whole fields (tag included) this schema does not know, written back verbatim after the known ones. */
  unknownFields?: Uint8Array[];
}

type Scalar = 'bool' | 'u32' | 'u64' | 'bytes' | 'string';

// Our names of the Inventory fields whose value is a T.
type FieldsOf<T> = { [K in keyof Inventory]-?: NonNullable<Inventory[K]> extends T ? K : never }[keyof Inventory];

// A scalar field: our name, the .proto name, the kind (which fixes the type of its value).
type Field =
  | { name: FieldsOf<boolean>; wire: string; kind: 'bool' }
  | { name: FieldsOf<number>; wire: string; kind: 'u32' | 'u64' }
  | { name: FieldsOf<Uint8Array>; wire: string; kind: 'bytes' }
  | { name: FieldsOf<string>; wire: string; kind: 'string' };

// The scalar fields; plugins and unknownFields are handled apart.
const FIELDS: readonly Field[] = [
  { name: 'imgVersion', wire: 'img_version', kind: 'u32' },
  { name: 'fdinfoPerId', wire: 'fdinfo_per_id', kind: 'bool' },
  { name: 'rootIds', wire: 'root_ids', kind: 'bytes' },
  { name: 'nsPerId', wire: 'ns_per_id', kind: 'bool' },
  { name: 'rootCgSet', wire: 'root_cg_set', kind: 'u32' },
  { name: 'lsmtype', wire: 'lsmtype', kind: 'u32' },
  { name: 'dumpUptime', wire: 'dump_uptime', kind: 'u64' },
  { name: 'preDumpMode', wire: 'pre_dump_mode', kind: 'u32' },
  { name: 'tcpClose', wire: 'tcp_close', kind: 'bool' },
  { name: 'networkLockMethod', wire: 'network_lock_method', kind: 'u32' },
  { name: 'dumpCriuRunId', wire: 'dump_criu_run_id', kind: 'string' },
  { name: 'allowUprobes', wire: 'allow_uprobes', kind: 'bool' },
];

// Unknown fields as protobufjs keeps them (a non-enumerable $unknowns), copied: they alias the input buffer.
function unknownsOf(message: DecodedMessage): Uint8Array[] | undefined {
  const raw = message['$unknowns'];
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  return raw.filter((u): u is Uint8Array => u instanceof Uint8Array).map((u) => new Uint8Array(u));
}

// A bytes field copied out of the image buffer (protobufjs' value aliases it).
function copyBytes(value: unknown, site: FieldSite): Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new ImageError({
      file: site.file,
      offset: site.offset,
      expected: `${site.field} to be bytes`,
      found: typeof value,
      code: 'bad-message',
    });
  }
  return new Uint8Array(value);
}

// The plugin names of a plugins_entry (repeated string; absent when empty on the wire).
function pluginNames(entry: DecodedMessage, file: string, offset: number): string[] {
  const names: unknown = entry['plugins'] ?? [];
  if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) {
    throw new ImageError({
      file,
      offset,
      expected: 'plugins_entry.plugins to be strings',
      found: String(names),
      code: 'bad-message',
    });
  }
  return [...names];
}

// Decodes inventory.img; an img_version CRIU does not define is an 'unknown-version' ImageError.
export function decodeInventory(bytes: Uint8Array, label: string): Inventory {
  const span = singleEntry(bytes, label, INVENTORY_FORMAT);
  const m = decodeEntry(types.inventory, entryReader(bytes, true), span, label, 'inventory entry');
  const version = u32Field(m, 'img_version', label, span.start);
  if (version !== CRIU_IMAGES_V1 && version !== CRIU_IMAGES_V1_1) {
    const expected = `img_version ${CRIU_IMAGES_V1} or ${CRIU_IMAGES_V1_1}`;
    throw new ImageError({ file: label, offset: span.start, expected, found: `${version}`, code: 'unknown-version' });
  }
  const inventory: Inventory = { imgVersion: version };
  for (const field of FIELDS) {
    if (!has(m, field.wire)) continue;
    const site = { file: label, offset: span.start, field: field.wire };
    const value = m[field.wire];
    switch (field.kind) {
      case 'bool':
        inventory[field.name] = boolValue(value, site);
        break;
      case 'u32':
        inventory[field.name] = u32Field(m, field.wire, label, span.start);
        break;
      case 'u64':
        inventory[field.name] = u64Safe(value, site);
        break;
      case 'bytes':
        inventory[field.name] = copyBytes(value, site);
        break;
      case 'string':
        inventory[field.name] = stringValue(value, site);
        break;
    }
  }
  if (has(m, 'plugins_entry'))
    inventory.plugins = pluginNames(messageField(m, 'plugins_entry', label, span.start), label, span.start);
  const unknown = unknownsOf(m);
  if (unknown) inventory.unknownFields = unknown;
  return inventory;
}

// Checks one scalar before encoding, so a bad value is an error here rather than wrapped bytes.
function checkScalar(name: string, kind: Scalar, value: unknown): void {
  const ok =
    kind === 'bool'
      ? typeof value === 'boolean'
      : kind === 'bytes'
        ? value instanceof Uint8Array
        : kind === 'string'
          ? typeof value === 'string'
          : typeof value === 'number' &&
            Number.isInteger(value) &&
            value >= 0 &&
            value <= (kind === 'u32' ? 0xffffffff : Number.MAX_SAFE_INTEGER);
  if (!ok) throw new RangeError(`Inventory.${name} is not a valid ${kind}: ${String(value)}`);
}

// Encodes inventory.img (INVENTORY_MAGIC, one entry), known fields in number order then unknown ones.
export function encodeInventory(inventory: Inventory): Uint8Array {
  const message: Record<string, unknown> = {};
  for (const field of FIELDS) {
    const value = inventory[field.name];
    if (value === undefined) continue;
    checkScalar(field.name, field.kind, value);
    message[field.wire] = value;
  }
  if (!has(message, 'img_version')) throw new RangeError('Inventory.imgVersion is required');
  if (inventory.plugins !== undefined) message['plugins_entry'] = { plugins: inventory.plugins };
  if (inventory.unknownFields !== undefined && inventory.unknownFields.length > 0)
    message['$unknowns'] = inventory.unknownFields;
  return joinEntries(INVENTORY_FORMAT, [types.inventory.encode(message).finish()]);
}

// Reads and decodes DIR/inventory.img (or any path to one).
export async function readInventoryFile(path: string): Promise<Inventory> {
  return decodeInventory(await readImageBytes(path), path);
}
