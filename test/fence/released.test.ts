import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { staleRestore, type Released } from '../../src/fence/released.js';

// What a backup may restore after a primary ran degraded (output_commit.degrade_after): never a checkpoint
// older than the newest one whose output clients may have seen without the backup's ack.

const record = (checkpoint: string, atMs = 1_000_000): Released => ({
  present: true,
  value: {
    holder: 'host-a',
    run: 'run-1',
    checkpoint,
    released_at_ms: atMs,
    released_at: new Date(atMs).toISOString(),
  },
});
const name = (n: number) => String(n).padStart(8, '0');

describe('staleRestore: the backup refuses a checkpoint older than output released unacknowledged', () => {
  it('no record: anything may be restored', () => {
    expect(staleRestore({ present: false }, { run: 'run-1', name: '00000001', takenAtMs: 0 })).toBeUndefined();
  });

  it('the same run: refused exactly when the candidate is older than the record, with the reason', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 99_999_999 }),
        fc.integer({ min: 1, max: 99_999_999 }),
        (recorded, candidate) => {
          const why = staleRestore(record(name(recorded)), {
            run: 'run-1',
            name: name(candidate),
            takenAtMs: undefined,
          });
          expect(why === undefined).toBe(candidate >= recorded);
        },
      ),
    );
    expect(staleRestore(record('00000029'), { run: 'run-1', name: '00000011', takenAtMs: 1 })).toBe(
      `the primary (host-a) ran degraded and released the output of checkpoint 00000029 of run run-1 at ${new Date(1_000_000).toISOString()} without this backup's ack; ` +
        'the newest checkpoint here is 00000011: restoring it would undo output clients have seen',
    );
  });

  it('another run: only one taken after the release is a later life of the workload; unknown times are refused', () => {
    const at = 1_000_000;
    expect(staleRestore(record('00000005', at), { run: 'run-2', name: '00000001', takenAtMs: at + 1 })).toBeUndefined();
    expect(staleRestore(record('00000005', at), { run: 'run-2', name: '00000900', takenAtMs: at })).toMatch(
      /not taken after that release/,
    );
    expect(staleRestore(record('00000005', at), { run: 'run-2', name: '00000900', takenAtMs: undefined })).toMatch(
      /not taken after that release/,
    );
  });

  it('an unreadable record refuses every restore', () => {
    expect(
      staleRestore({ present: true, invalid: 'not JSON' }, { run: 'run-1', name: '99999999', takenAtMs: Date.now() }),
    ).toMatch(/unreadable \(not JSON\)/);
  });
});
