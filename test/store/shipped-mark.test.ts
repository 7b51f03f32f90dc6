import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readShippedMark, SHIPPED_FILE, writeShippedMark } from '../../src/store/shipped-mark.js';
import { backupHoldsReader } from '../../src/cli/run/backup-holds.js';
import { writeRunIdentity } from '../../src/store/run-identity.js';

const RUN = '0a1b2c3d-0000-4000-8000-000000000001';
const OTHER = '0a1b2c3d-0000-4000-8000-000000000002';
const fresh = () => mkdtempSync(join(tmpdir(), 'remusd-mark-'));

describe('shipped.json, the shipper mark', () => {
  it('reads back what the shipper wrote; none is undefined', async () => {
    const dir = fresh();
    expect(readShippedMark(dir)).toBeUndefined();
    await writeShippedMark(dir, RUN, '00000042', new Date('2026-12-03T04:00:00Z'));
    expect(readShippedMark(dir)).toEqual({ run: RUN, name: '00000042', acked_at: '2026-12-03T04:00:00.000Z' });
  });

  it('refuses a damaged or hostile file, naming the file and the field', () => {
    const dir = fresh();
    const path = join(dir, SHIPPED_FILE);
    const refused = (text: string) => {
      writeFileSync(path, text);
      return () => readShippedMark(dir);
    };
    expect(refused('{"run":')).toThrow(`${path}: not JSON`);
    expect(refused(JSON.stringify({ run: RUN, name: '../etc', acked_at: '2026-12-03T04:00:00Z' }))).toThrow(
      `${path}: name: must be a checkpoint name`,
    );
    expect(refused(JSON.stringify({ run: 'x', name: '00000001', acked_at: '2026-12-03T04:00:00Z' }))).toThrow(
      `${path}: run: must be a lowercase UUID`,
    );
    expect(refused(JSON.stringify({ run: RUN, name: '00000001', acked_at: '2026-12-03T04:00:00Z', extra: 1 }))).toThrow(
      path,
    );
    expect(refused(' '.repeat(4096))).toThrow(path); // past the size bound, never read whole
    const fifo = fresh();
    execFileSync('mkfifo', [join(fifo, SHIPPED_FILE)]);
    expect(() => readShippedMark(fifo)).toThrow(join(fifo, SHIPPED_FILE)); // not a regular file: never opened to block
  });

  it("the supervisor's reader: this run's mark as a seq; another run's, none or a damaged one as no mark (said once)", async () => {
    const dir = fresh();
    await writeRunIdentity(dir, { id: RUN, started: '2026-12-03T03:00:00.000Z', host: 'h' });
    const warnings: string[] = [];
    const holds = backupHoldsReader(dir, (message) => warnings.push(message));
    expect(holds()).toBeUndefined();
    await writeShippedMark(dir, RUN, '00000042', new Date());
    expect(holds()).toBe(42);
    await writeShippedMark(dir, OTHER, '00000077', new Date());
    expect(holds()).toBeUndefined();
    writeFileSync(join(dir, SHIPPED_FILE), 'garbage');
    expect([holds(), holds()]).toEqual([undefined, undefined]);
    expect(warnings).toEqual([
      `${join(dir, SHIPPED_FILE)}: not JSON: compaction does not wait for the backup while it is so`,
    ]);
  });
});
