import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import type { CheckpointRecord } from '../model/record.js';

/** Where checkpoint records go. */
export interface RecordSink {
  append(record: CheckpointRecord): void;
  close(): void;
}

/**
 * Appends one JSON line per checkpoint to a file. Each line is handed to the kernel as it is written
 * (one write(2) of a whole line), so a killed supervisor loses no record and never leaves half a line.
 */
export function openRecordsFile(path: string): RecordSink {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  return {
    append(record) {
      writeSync(fd, `${JSON.stringify(record)}\n`);
    },
    close() {
      closeSync(fd);
    },
  };
}
