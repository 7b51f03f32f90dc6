import { describe, expect, it } from 'vitest';
import type { StoredCheckpoint } from '../../src/store/chain.js';
import { chooseRun, type RunView } from '../../src/replicate/run-choice.js';

const c = (seq: number, parentSeq?: number): StoredCheckpoint => ({
  seq,
  name: String(seq).padStart(8, '0'),
  parentSeq,
  sizeBytes: 0,
});
const at = (iso: string) => Date.parse(iso);

function run(id: string, started: string, checkpoints: [number, string][]): RunView {
  return {
    id,
    dir: `/backup/runs/${id}`,
    host: 'primary',
    started,
    checkpoints: checkpoints.map(([seq]) => c(seq)),
    takenAtMs: new Map(checkpoints.map(([seq, iso]) => [c(seq).name, at(iso)])),
  };
}

describe('chooseRun', () => {
  it('orders runs by the primary clock, never by names: a restarted run at 00000003 beats the old one at 00000950', () => {
    const old = run('a', '2026-12-01T10:00:00Z', [
      [949, '2026-12-01T11:59:00Z'],
      [950, '2026-12-01T12:00:00Z'],
    ]);
    const restarted = run('b', '2026-12-01T12:05:00Z', [
      [1, '2026-12-01T12:05:01Z'],
      [3, '2026-12-01T12:05:03Z'],
    ]);
    const choice = chooseRun([old, restarted]);
    expect(choice).toMatchObject({ ok: true, run: { id: 'b' } });
    expect(choice.ok && choice.why).toMatch(
      /^run b of primary: newest 00000003 taken 2026-12-01T12:05:03.000Z is the newest of 2 runs by the primary's clock \(run a of primary: newest 00000950/,
    );
  });

  it('a run named 99999999 that was taken earlier does not win', () => {
    const real = run('real', '2026-12-01T10:00:00Z', [[7, '2026-12-01T12:00:00Z']]);
    const forged = run('forged', '2026-12-01T09:00:00Z', [[99999999, '2026-12-01T11:00:00Z']]);
    expect(chooseRun([forged, real])).toMatchObject({ ok: true, run: { id: 'real' } });
  });

  it('takes the run asked for, says when it is not there, and when nothing is', () => {
    const a = run('a', '2026-12-01T10:00:00Z', [[1, '2026-12-01T10:00:01Z']]);
    const b = run('b', '2026-12-01T11:00:00Z', [[1, '2026-12-01T11:00:01Z']]);
    expect(chooseRun([a, b], 'a')).toMatchObject({ ok: true, run: { id: 'a' }, why: 'run a as asked' });
    expect(chooseRun([a, b], 'c')).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^no run c here \(runs: run a of primary/),
    });
    expect(chooseRun([])).toEqual({ ok: false, problem: 'there are no runs and no checkpoints' });
    expect(chooseRun([run('e', '2026-12-01T10:00:00Z', [])])).toEqual({
      ok: false,
      problem: 'no run has a complete checkpoint',
    });
    expect(chooseRun([a])).toMatchObject({
      ok: true,
      why: 'run a of primary: newest 00000001 taken 2026-12-01T10:00:01.000Z is the only run here',
    });
  });
});
