// Reading files remusd did not write (configs, CRIU images, traces) as untrusted input: regular files only,
// opened without blocking and read up to a size cap. Without this a FIFO given as a config hangs the open
// forever, and /dev/zero as a stats-dump grew the process to 6.1 GB in 20 s before anything failed.

import { errorCode, errorMessage } from './error-code.js';
import { constants, fstatSync, openSync, readSync, closeSync, type Stats } from 'node:fs';
import { open } from 'node:fs/promises';

/** Why a file could not be read: a system error code (ENOENT, EACCES, …), not-regular or too-large. */
export class FileReadError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    /** What is wrong, as a phrase after the path: "is a FIFO, not a regular file". */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'FileReadError';
  }
}

// O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; on a regular file it does nothing.
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** What kind of file a stat describes, for messages. */
export function fileKind(stats: Stats): string {
  if (stats.isFile()) return 'a regular file';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function refuse(path: string, stats: Stats, maxBytes: number): FileReadError | undefined {
  if (!stats.isFile()) return new FileReadError(path, 'not-regular', `is ${fileKind(stats)}, not a regular file`);
  if (stats.size > maxBytes) return tooLarge(path, maxBytes);
  return undefined;
}

function tooLarge(path: string, maxBytes: number): FileReadError {
  return new FileReadError(path, 'too-large', `is larger than the ${maxBytes} byte limit for this kind of file`);
}

function systemError(path: string, error: unknown): FileReadError {
  const code = errorCode(error);
  const message = errorMessage(error);
  const reasons: Record<string, string> = {
    ENOENT: 'no such file',
    EACCES: 'permission denied',
    EISDIR: 'is a directory, not a regular file',
    ELOOP: 'too many levels of symbolic links',
    ENOTDIR: 'a component of the path is not a directory',
  };
  return new FileReadError(
    path,
    code ?? 'EIO',
    code !== undefined && reasons[code] ? `${reasons[code]} (${code})` : `cannot be read (${code ?? message})`,
    {
      cause: error,
    },
  );
}

// The bytes read so far. Sized by the file's stat plus one byte, so that a file ending where stat said
// needs no second buffer; a file that grows while read is followed up to maxBytes, and one byte past that
// is the refusal.
class Accumulator {
  buffer: Buffer;
  length = 0;
  constructor(
    private readonly path: string,
    statSize: number,
    private readonly maxBytes: number,
  ) {
    this.buffer = Buffer.alloc(Math.min(statSize, maxBytes) + 1);
  }
  room(): number {
    if (this.length === this.buffer.length) {
      const grown = Buffer.alloc(Math.min(this.buffer.length * 2, this.maxBytes + 1));
      this.buffer.copy(grown);
      this.buffer = grown;
    }
    return this.buffer.length - this.length;
  }
  /** Counts bytesRead; false at the end of the file. */
  add(bytesRead: number): boolean {
    this.length += bytesRead;
    if (this.length > this.maxBytes) throw tooLarge(this.path, this.maxBytes);
    return bytesRead > 0;
  }
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** Reads a regular file whole; anything else, or more than maxBytes (also when it grows while read), is refused. */
export async function readRegularFile(path: string, maxBytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (error) {
    throw systemError(path, error);
  }
  try {
    const stats = await handle.stat();
    const refusal = refuse(path, stats, maxBytes);
    if (refusal) throw refusal;
    const into = new Accumulator(path, stats.size, maxBytes);
    for (;;) {
      const room = into.room(); // first: it may replace into.buffer
      if (!into.add((await handle.read(into.buffer, into.length, room, into.length)).bytesRead)) break;
    }
    return into.bytes();
  } catch (error) {
    throw error instanceof FileReadError ? error : systemError(path, error);
  } finally {
    await handle.close();
  }
}

/** readRegularFile, synchronously (for the supervisor's hot path, where a thread-pool round trip costs more). */
export function readRegularFileSync(path: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, OPEN_FLAGS);
  } catch (error) {
    throw systemError(path, error);
  }
  try {
    const stats = fstatSync(fd);
    const refusal = refuse(path, stats, maxBytes);
    if (refusal) throw refusal;
    const into = new Accumulator(path, stats.size, maxBytes);
    for (;;) {
      const room = into.room(); // first: it may replace into.buffer
      if (!into.add(readSync(fd, into.buffer, into.length, room, into.length))) break;
    }
    return into.bytes();
  } catch (error) {
    throw error instanceof FileReadError ? error : systemError(path, error);
  } finally {
    closeSync(fd);
  }
}
