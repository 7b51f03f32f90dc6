import { readFile } from 'node:fs/promises';
import type { CheckpointRecord } from '../../src/model/record.js';

/** Reads a JSON-lines file (records.jsonl, ship.jsonl); an empty or missing file gives []. */
export async function readJsonLines<T>(path: string): Promise<T[]> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text.trim() === ''
    ? []
    : text
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as T);
}

/** Reads a records file; an empty or missing file gives []. */
export async function readRecords(path: string): Promise<CheckpointRecord[]> {
  return readJsonLines<CheckpointRecord>(path);
}
