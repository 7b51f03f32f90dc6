// Replacing a small file so that a crash at any moment leaves the old content or the new one, never a mix
// or nothing, and so that the new content is on disk once the call returns.
//
// Each step is there for a failure seen or possible without it:
// - a temporary name unique to this call (pid + random), in the same directory: two writers of the same
//   file (the backup's automatic failover and `remusd failover` by hand both write failover.json) each
//   had `failover.json.tmp`, so one could rename the other's half-written file into place;
// - fsync of the file before the rename: without it the rename can reach the disk before the data, and
//   a power loss leaves an empty or short file under the real name (ext4's auto_da_alloc narrows this
//   window, other file systems do not);
// - fsync of the directory after the rename: the new name is durable only then, so a crash right after
//   the call returned could bring back the old content (a fenced host's fenced.json gone, a backup run's
//   `newest` back at an older checkpoint);
// - a size bound, checked before anything is written: these files are read back with bounded readers.

import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorText } from './error-code.js';
import { fsyncPath } from './fsync.js';

/** A file could not be replaced; the old content, if any, is still there. */
export class AtomicWriteError extends Error {
  constructor(
    readonly path: string,
    /** What went wrong, as a phrase after the path. */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${path}: ${reason}`, options);
    this.name = 'AtomicWriteError';
  }
}

export interface AtomicWriteOptions {
  /** Refuse (write nothing) past this many bytes. */
  maxBytes: number;
  /** The new file's permission bits (default 0o644). */
  mode?: number;
  /**
   * false: no fsync of the file nor of the directory (still atomic: the old content or the new one, but a
   * crash may bring the old one back). For advice rewritten often, such as the shipper's mark. Default true.
   */
  durable?: boolean;
}

/** What temporaryName makes: `.NAME.PID.RANDOM.tmp`, the writer's pid captured (for removeStaleTemporaries). */
export const TEMPORARY_NAME = /^\..+\.(\d+)\.[0-9a-f]{12}\.tmp$/;

/** The temporary name a write of `path` works under (same directory, hidden, unique to this call). */
export function temporaryName(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** Replaces `path` with `data` atomically and durably (see above); throws AtomicWriteError naming the file. */
export async function writeFileAtomically(
  path: string,
  data: string | Uint8Array,
  options: AtomicWriteOptions,
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (bytes.length > options.maxBytes)
    throw new AtomicWriteError(
      path,
      `${bytes.length} bytes is over the ${options.maxBytes} byte limit for this file; nothing was written`,
    );
  const temp = temporaryName(path);
  try {
    const handle = await open(temp, 'wx', options.mode ?? 0o644);
    try {
      await handle.writeFile(bytes);
      if (options.durable !== false) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    if (options.durable !== false) await fsyncPath(dirname(path));
  } catch (error) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new AtomicWriteError(path, `cannot be written (${errorText(error)})`, { cause: error });
  }
}

/** writeFileAtomically of `value` as JSON and a newline (`indent` spaces per level; default: one line). */
export async function writeJsonAtomically(
  path: string,
  value: object,
  options: AtomicWriteOptions & { indent?: number },
): Promise<void> {
  let text: string;
  try {
    text = `${JSON.stringify(value, null, options.indent)}\n`;
  } catch (error) {
    throw new AtomicWriteError(path, `cannot be written as JSON (${errorText(error)})`, { cause: error });
  }
  await writeFileAtomically(path, text, options);
}
