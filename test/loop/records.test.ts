import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openRecordsFile } from '../../src/loop/records.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { imagesDir } from '../helpers/criu.js';

const record = (seq: number): CheckpointRecord => ({
  schema: 3,
  seq,
  start: new Date(seq * 1000).toISOString(),
  mode: 'delta',
  policy: 'threshold',
  band: { lmin_bytes: 1, lmax_bytes: 2, min_ms: 100, max_ms: 1000 },
  chain_start: false,
  probe: null,
  elapsed_ms: 200,
  shpages_written: 0,
  parent: null,
  chain: 'parent',
  interval_ms: 200,
  next_interval_ms: 200,
  decision: 'hold',
  reason: 'size 6.2 MiB within [lmin 1.0 MiB, lmax 8.0 MiB]: hold at 200 ms',
  pages_scanned: 1,
  pages_written: 1,
  pages_skipped_parent: 0,
  size_bytes: 4096,
  frozen_us: 1,
  criu_wall_ms: 1,
  supervisor_overhead_ms: 1,
  overrun: false,
  dir: `/x/${seq}`,
});

describe('records file', () => {
  it('appends whole lines and rotates past max_bytes, keeping keep_files old files, never splitting a line', async () => {
    const dir = await imagesDir('remusd-records-');
    const path = join(dir, 'records.jsonl');
    const lineBytes = Buffer.byteLength(`${JSON.stringify(record(100))}\n`);
    const sink = openRecordsFile(path, { maxBytes: lineBytes * 10 + 5, keepFiles: 2 });
    for (let seq = 100; seq < 145; seq++) sink.append(record(seq));
    sink.close();
    expect((await readdir(dir)).sort()).toEqual(['records.jsonl', 'records.jsonl.1', 'records.jsonl.2']);
    const read = async (name: string) =>
      (await readFile(join(dir, name), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as CheckpointRecord).seq);
    // 45 records, 10 a file: the current file has the last 5, .1 and .2 the 20 before; the oldest 20 are gone.
    expect(await read('records.jsonl')).toEqual([140, 141, 142, 143, 144]);
    expect(await read('records.jsonl.1')).toEqual([130, 131, 132, 133, 134, 135, 136, 137, 138, 139]);
    expect(await read('records.jsonl.2')).toEqual([120, 121, 122, 123, 124, 125, 126, 127, 128, 129]);
  });

  it('continues an existing file across restarts, counting its size', async () => {
    const dir = await imagesDir('remusd-records-');
    const path = join(dir, 'records.jsonl');
    const lineBytes = Buffer.byteLength(`${JSON.stringify(record(100))}\n`);
    const first = openRecordsFile(path, { maxBytes: lineBytes * 3, keepFiles: 1 });
    first.append(record(100));
    first.append(record(101));
    first.close();
    const second = openRecordsFile(path, { maxBytes: lineBytes * 3, keepFiles: 1 });
    second.append(record(102)); // fits: 3 lines
    second.append(record(103)); // would pass the limit: rotate first
    second.close();
    expect((await readFile(`${path}.1`, 'utf8')).trim().split('\n')).toHaveLength(3);
    expect((await readFile(path, 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});
