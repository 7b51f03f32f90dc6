// The replication wire format: a stream of frames over one TCP connection.
//
//   frame   = kind (u8) · length (u32, big-endian) · payload (length bytes)
//   kind 1  = a control message: UTF-8 JSON, one of the Message types below
//   kind 2  = file bytes: the next chunk of the file being streamed (files follow the offer's order)
//
// A conversation: the sender says hello, the receiver answers hello (or error and closes). Then, for each
// checkpoint: offer → accept | have | refuse; after accept, the files' bytes as data frames, then done →
// ack | reject. Between checkpoints the sender may send status messages, which need no answer: heartbeat
// (after a second without other traffic), workload-dead (once, when the protected workload is seen dead)
// and goodbye (it is stopping on purpose: its silence from now on is not a failure). A goodbye may also
// come between two data frames, ending the transfer in progress. Heartbeats and offers carry the workload's
// state when the sender watches it (ship --pid). Everything here is pure: the socket side is channel.ts.

import type { RunIdentity } from '../store/run-identity.js';
import { COMPLETE } from '../store/checkpoints.js';
import { FILE_CHUNK_BYTES } from '../store/manifest.js';
import { checkMessage, type Message } from './messages.js';

/** Names the stream, so that a stray client (an HTTP probe, another protocol) fails with a clear message. */
export const PROTOCOL_NAME = 'remusd-replicate';
/** Bumped on any incompatible change; both sides must speak the same one. */
export const PROTOCOL_VERSION = 3;

export const FRAME_MESSAGE = 1;
export const FRAME_DATA = 2;
const HEADER_BYTES = 5;
/** Largest control message: a manifest of a few dozen files is a few KiB. */
export const MAX_MESSAGE_BYTES = 1 << 20;
/** Largest data frame; the sender uses DATA_CHUNK_BYTES, the receiver accepts up to this. */
export const MAX_DATA_BYTES = 4 << 20;
/** The sender's file chunk: large enough that the per-frame cost is negligible, small enough to stream. */
export const DATA_CHUNK_BYTES = FILE_CHUNK_BYTES;

export type { Manifest, ManifestFile, Message } from './messages.js';

/** The protected workload's state on the primary, as the sender last saw it. */
export type WorkloadState = 'alive' | 'dead';

/** Why an offer is refused: its parent is missing, it is invalid, or this backup has failed over already. */
export type RefuseReason = Extract<Message, { type: 'refuse' }>['reason'];

export type Frame = { kind: 'message'; message: Message } | { kind: 'data'; bytes: Buffer };

/** A malformed stream or message: the connection cannot go on. */
export class ProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtocolError';
  }
}

/** Checkpoint directory names, as the supervisor writes them (src/store/checkpoints.ts). */
export const CHECKPOINT_NAME = COMPLETE;

/** Encodes a control message as one frame. */
export function encodeMessage(message: Message): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  if (payload.length > MAX_MESSAGE_BYTES)
    throw new ProtocolError(`message ${message.type} is ${payload.length} bytes (max ${MAX_MESSAGE_BYTES})`);
  return Buffer.concat([header(FRAME_MESSAGE, payload.length), payload]);
}

/** The header of a data frame carrying `length` bytes (the bytes follow it unchanged). */
export function dataHeader(length: number): Buffer {
  if (length > MAX_DATA_BYTES) throw new ProtocolError(`data frame of ${length} bytes (max ${MAX_DATA_BYTES})`);
  return header(FRAME_DATA, length);
}

function header(kind: number, length: number): Buffer {
  const bytes = Buffer.alloc(HEADER_BYTES);
  bytes.writeUInt8(kind, 0);
  bytes.writeUInt32BE(length, 1);
  return bytes;
}

/** Splits a byte stream into frames, whatever the chunk boundaries; throws ProtocolError on garbage. */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private size = 0;
  private decoded = 0;

  /**
   * firstFrameMaxBytes: a smaller limit for the first frame (the hello, ~80 bytes), so that a peer that
   * has said nothing yet cannot make the receiver buffer a full-size frame.
   */
  constructor(private readonly firstFrameMaxBytes?: number) {}

  /** Adds received bytes and returns the frames completed by them. */
  push(chunk: Buffer): Frame[] {
    this.buffered.push(chunk);
    this.size += chunk.length;
    const frames: Frame[] = [];
    for (;;) {
      if (this.size < HEADER_BYTES) return frames;
      const head = this.peek(HEADER_BYTES);
      const kind = head.readUInt8(0);
      const length = head.readUInt32BE(1);
      if (kind !== FRAME_MESSAGE && kind !== FRAME_DATA) {
        throw new ProtocolError(
          `not a ${PROTOCOL_NAME} stream (frame kind 0x${kind.toString(16)}; the first bytes were ${JSON.stringify(head.toString('latin1'))})`,
        );
      }
      const max =
        this.decoded === 0 && this.firstFrameMaxBytes !== undefined
          ? this.firstFrameMaxBytes
          : kind === FRAME_MESSAGE
            ? MAX_MESSAGE_BYTES
            : MAX_DATA_BYTES;
      if (length > max)
        throw new ProtocolError(
          `frame of ${length} bytes exceeds the limit of ${max}: not a ${PROTOCOL_NAME} stream, or a corrupt one`,
        );
      if (this.size < HEADER_BYTES + length) return frames;
      const payload = this.take(HEADER_BYTES + length).subarray(HEADER_BYTES);
      this.decoded++;
      frames.push(
        kind === FRAME_DATA ? { kind: 'data', bytes: payload } : { kind: 'message', message: parseMessage(payload) },
      );
    }
  }

  /** Bytes received but not yet part of a whole frame. */
  get pending(): number {
    return this.size;
  }

  private peek(n: number): Buffer {
    const [first] = this.buffered;
    if (first !== undefined && first.length >= n) return first.subarray(0, n);
    const all = Buffer.concat(this.buffered);
    this.buffered = [all];
    return all.subarray(0, n);
  }

  private take(n: number): Buffer {
    const [first, ...more] = this.buffered;
    const all = first !== undefined && more.length === 0 ? first : Buffer.concat(this.buffered);
    const taken = all.subarray(0, n);
    const rest = all.subarray(n);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.size = rest.length;
    return taken;
  }
}

/** Parses and validates a control message's JSON payload (untrusted input; messages.ts says what is allowed). */
export function parseMessage(payload: Buffer): Message {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ProtocolError(`control frame is not JSON: ${JSON.stringify(payload.subarray(0, 60).toString('latin1'))}`);
  }
  const checked = checkMessage(value);
  if (!checked.ok) throw new ProtocolError(checked.error);
  return checked.message;
}

/** Whether a peer's hello speaks our protocol; the reason if not. */
export function helloProblem(message: Message, expectedRole: 'sender' | 'receiver'): string | undefined {
  if (message.type !== 'hello') return `expected hello first, got ${message.type}`;
  if (message.protocol !== PROTOCOL_NAME)
    return `peer speaks ${JSON.stringify(message.protocol)}, not ${PROTOCOL_NAME}`;
  if (message.version !== PROTOCOL_VERSION)
    return `peer speaks ${PROTOCOL_NAME} version ${message.version}; this remusd speaks version ${PROTOCOL_VERSION}`;
  if (message.role !== expectedRole) return `peer says it is a ${message.role}, expected a ${expectedRole}`;
  if (expectedRole === 'sender' && message.run === undefined) return "the sender's hello names no run";
  return undefined;
}

/** A receiver's hello, or a sender's, which names the run its offers belong to. */
export function hello(role: 'receiver'): Message;
export function hello(role: 'sender', run: RunIdentity): Message;
export function hello(role: 'sender' | 'receiver', run?: RunIdentity): Message {
  return {
    type: 'hello',
    protocol: PROTOCOL_NAME,
    version: PROTOCOL_VERSION,
    role,
    ...(run === undefined ? {} : { run }),
  };
}

/** The run a sender's hello names (helloProblem has checked that there is one). */
export function helloRun(message: Message): RunIdentity {
  if (message.type !== 'hello' || message.run === undefined) throw new ProtocolError("the sender's hello names no run");
  return message.run;
}
