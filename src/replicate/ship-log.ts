import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** One shipped checkpoint, as ship.jsonl records it. */
export interface ShipRecord {
  name: string;
  parent: string | null;
  /** Bytes of file content sent. */
  bytes: number;
  files: number;
  /** From the offer to the backup's acknowledgement (hashing not included). */
  ms: number;
  /** From the checkpoint's last write on the primary to the backup's acknowledgement. */
  lag_ms: number;
  acked_at: string;
  /** Set when this checkpoint was sent because a newer one needed it. */
  ancestor_of?: string;
}

/** Appends one JSON line per shipped checkpoint; each line is one write(2), so a kill never halves one. */
export function openShipLog(path: string): { append(record: ShipRecord): void; close(): void } {
  mkdirSync(dirname(path), { recursive: true });
  const fd = openSync(path, 'a');
  return {
    append: (record) => void writeSync(fd, `${JSON.stringify(record)}\n`),
    close: () => closeSync(fd),
  };
}
