import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { errorCode } from '../fs/error-code.js';
import { fileKind } from '../fs/regular-file.js';
import { dirname } from 'node:path';
import type { CheckpointRecord } from '../model/record.js';

/** Where checkpoint records go. */
export interface RecordSink {
  append(record: CheckpointRecord): void;
  close(): void;
}

/** When to rotate: past maxBytes the file becomes path.1 (path.1 becomes path.2, …, up to keepFiles). */
export interface Rotation {
  maxBytes: number;
  keepFiles: number;
}

/**
 * Appends one JSON line per checkpoint to a file. Each line is handed to the kernel as it is written
 * (one write(2) of a whole line), so a killed supervisor loses no record and never leaves half a line.
 * A supervisor runs for months: past rotation.maxBytes the file is rotated between two records, so no
 * line is ever split across files.
 */
export function openRecordsFile(
  path: string,
  rotation: Rotation = { maxBytes: Number.POSITIVE_INFINITY, keepFiles: 0 },
): RecordSink {
  mkdirSync(dirname(path), { recursive: true });
  let fd = openAppend(path);
  let size = fstatSync(fd).size;
  return {
    append(record) {
      const line = Buffer.from(`${JSON.stringify(record)}\n`);
      if (size > 0 && size + line.length > rotation.maxBytes) {
        closeSync(fd);
        rotate(path, rotation.keepFiles);
        fd = openAppend(path);
        size = 0;
      }
      try {
        let written = 0;
        while (written < line.length) written += writeSync(fd, line, written);
      } catch (error) {
        // A full disk can take part of a line: cut the file back so that the next line starts clean.
        try {
          ftruncateSync(fd, size);
        } catch {
          // nothing more to do; the error below says what happened
        }
        throw error;
      }
      size += line.length;
    },
    close() {
      closeSync(fd);
    },
  };
}

// Opens for appending; only a regular file (or a new one) is taken: /dev/full or a FIFO as the records file
// would fail or block at the first record rather than at the start.
function openAppend(path: string): number {
  const fd = openSync(
    path,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOCTTY,
    0o644,
  );
  const stats = fstatSync(fd);
  if (!stats.isFile()) {
    closeSync(fd);
    throw Object.assign(new Error(`${path} is ${fileKind(stats)}, not a regular file`), { code: 'ENOTREG' });
  }
  return fd;
}

// path.(k-1) → path.k down to path → path.1; the oldest beyond keepFiles is dropped.
function rotate(path: string, keepFiles: number): void {
  rmSync(`${path}.${keepFiles}`, { force: true });
  for (let k = keepFiles - 1; k >= 1; k--) {
    try {
      renameSync(`${path}.${k}`, `${path}.${k + 1}`);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
  }
  if (keepFiles >= 1) renameSync(path, `${path}.1`);
  else rmSync(path, { force: true });
}
