import { z } from 'zod';
import { runIdentitySchema } from '../store/run-identity.js';
import { COMPLETE } from '../store/checkpoints.js';

// What the control messages of the replication protocol may contain (protocol.ts frames them). Every
// message from a peer is untrusted: each field is checked here, with bounds on every string and list.

/** File names a checkpoint may hold: plain names, never a path, a dot file or the parent link. */
const FILE_NAME = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/;
/** The file in which the backup keeps a checkpoint's manifest, beside its images. */
export const MANIFEST_FILE = 'remusd-manifest.json';
/** A CRIU dump of a few processes has a few dozen files; thousands would be an attack. */
export const MAX_MANIFEST_FILES = 10_000;
/** Free-text fields (reasons, error messages). */
const TEXT = z.string().max(4096);

const checkpointName = z.string().regex(COMPLETE, 'is not a checkpoint name (8 digits)');
const timestamp = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time' });
const workload = z.enum(['alive', 'dead'], { message: 'must be alive or dead' }).optional();

export const manifestFileSchema = z.strictObject({
  name: z
    .string()
    .max(255)
    .regex(FILE_NAME, 'is not an acceptable file name (plain names only, no paths, no dot files)')
    .refine(
      (name) => name !== 'parent' && name !== MANIFEST_FILE,
      'is reserved ("parent" and the manifest are not files of a checkpoint)',
    ),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  /** xxh64 (seed 0) of the content, 16 lowercase hex digits. */
  xxh64: z.string().regex(/^[0-9a-f]{16}$/, 'must be 16 lowercase hex digits'),
});

/**
 * What a checkpoint is: its run, its name (the primary's own sequence number), its parent in the same
 * run, when the primary took it, and every file with its size and hash. Sent with each offer, kept by
 * the backup beside the checkpoint, and verified against again before a restore.
 */
export const manifestSchema = z
  .strictObject({
    format: z.literal(1),
    run: runIdentitySchema.shape.id,
    name: checkpointName,
    parent: checkpointName.nullable(),
    taken_at: timestamp,
    files: z
      .array(manifestFileSchema)
      .max(MAX_MANIFEST_FILES)
      .refine((files) => new Set(files.map((f) => f.name)).size === files.length, 'must not name a file twice'),
  })
  .refine((m) => m.parent === null || m.parent < m.name, {
    message: 'must be older than the checkpoint (a lower name)',
    path: ['parent'],
  });

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestFile = z.infer<typeof manifestFileSchema>;

const named = <T extends string>(type: T) => z.strictObject({ type: z.literal(type), name: checkpointName });

/** One schema per message type; the type field picks it. */
export const messageSchemas = {
  // Not strict: a peer of another version may send fields we do not know, and must be told its version is wrong.
  hello: z.object({
    type: z.literal('hello'),
    protocol: z.string().max(64),
    version: z.number().int(),
    role: z.enum(['sender', 'receiver'], { message: 'must be sender or receiver' }),
    /** The sender's run: every offer on this connection belongs to it. */
    run: runIdentitySchema.optional(),
  }),
  offer: z.strictObject({ type: z.literal('offer'), manifest: manifestSchema, workload }),
  accept: named('accept'),
  have: named('have'),
  refuse: z.strictObject({
    type: z.literal('refuse'),
    name: checkpointName,
    reason: z.enum(['missing-parent', 'invalid', 'failed-over'], { message: 'is not a known reason' }),
    message: TEXT,
    /** The complete checkpoints the backup holds of the sender's run. */
    have: z.array(checkpointName).max(100_000),
  }),
  done: named('done'),
  ack: z.strictObject({ type: z.literal('ack'), name: checkpointName, bytes: z.number().int().nonnegative() }),
  reject: z.strictObject({ type: z.literal('reject'), name: checkpointName, message: TEXT }),
  heartbeat: z.strictObject({ type: z.literal('heartbeat'), at: timestamp, workload }),
  'workload-dead': z.strictObject({
    type: z.literal('workload-dead'),
    pid: z.number().int().positive({ message: 'must be a positive integer' }),
    at: timestamp,
  }),
  goodbye: z.strictObject({ type: z.literal('goodbye'), reason: TEXT }),
  error: z.strictObject({ type: z.literal('error'), message: TEXT }),
};

type Schemas = typeof messageSchemas;
export type Message = { [K in keyof Schemas]: z.infer<Schemas[K]> }[keyof Schemas];

/** Checks a parsed JSON value against the schema its type names; returns the message or what is wrong with it. */
export function checkMessage(value: unknown): { ok: true; message: Message } | { ok: false; error: string } {
  if (typeof value !== 'object' || value === null || !('type' in value) || typeof value.type !== 'string')
    return { ok: false, error: 'control message without a type' };
  const { type } = value;
  if (!isMessageType(type))
    return { ok: false, error: `unknown control message type ${JSON.stringify(type).slice(0, 80)}` };
  const parsed = messageSchemas[type].safeParse(value);
  if (parsed.success) return { ok: true, message: parsed.data };
  return { ok: false, error: `${type} message: ${describeFirstIssue(parsed.error)}` };
}

// Whether a string names a control message type (an own key of messageSchemas, not e.g. "toString").
function isMessageType(type: string): type is keyof Schemas {
  return Object.hasOwn(messageSchemas, type);
}

/** The first thing zod found wrong, described (zod reports at least one issue when a parse fails). */
export function describeFirstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  return issue === undefined ? 'is not valid' : describeIssue(issue);
}

/** "manifest.files.2.name is not an acceptable file name (…)" */
export function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (path === '') return issue.message;
  // zod's own messages are sentences ("Invalid input: …"); ours continue the field's name.
  return /^[A-Z]/.test(issue.message) ? `${path}: ${issue.message}` : `${path} ${issue.message}`;
}
