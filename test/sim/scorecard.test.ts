import { describe, expect, it } from 'vitest';
import { backInBandCell } from '../../src/cli/format.js';
import type { CheckpointFacts } from '../../src/model/record.js';
import { Scorecard } from '../../src/sim/scorecard.js';
import { BAND, MiB } from './helpers.js';

// "Back in band" after a step of the rate: which steps count, and what the compare/score cell says of them.
// A real trace (test/sim/fixtures/demo-delta-15s.records.jsonl) has three steps within 30 ms near its end and
// no checkpoint between them, and its last step comes ~4 s before the trace ends: that printed
// "NaN, max 0, never 3" for a policy 97.9 % in band.

/** A checkpoint at atMs whose window began elapsedMs before, of sizeMiB (in band: 1 to 8 MiB). */
function facts(seq: number, atMs: number, elapsedMs: number, sizeMiB: number): CheckpointFacts {
  return {
    seq,
    startMs: atMs,
    band: BAND,
    chainStart: false,
    intervalMs: elapsedMs,
    nextIntervalMs: elapsedMs,
    elapsedMs,
    decision: 'hold',
    pagesWritten: (sizeMiB * MiB) / 4096,
    sizeBytes: sizeMiB * MiB,
    frozenUs: 0,
    criuWallMs: 0,
    supervisorOverheadMs: 0,
    overrun: false,
    compactedBytes: null,
    probeTrigger: null,
  };
}

/** Scores checkpoints every 500 ms from 0 (sizes as given) against steps of the rate at `steps` ms. */
function score(steps: number[], sizesMiB: number[]) {
  const card = new Scorecard(0);
  card.startRun((t) => steps.find((s) => s > t));
  sizesMiB.forEach((size, i) => card.addFacts(facts(i + 1, i * 500, 500, size)));
  return card.score();
}

describe('back in band', () => {
  it('steps no checkpoint saw apart count as one; one still out when the run ends is "before the end", not never', () => {
    // Three steps inside one window (1000-1500), then out of band until the run ends.
    const s = score([1100, 1110, 1120], [4, 4, 4, 4, 0.1, 0.1]);
    expect(s.steps).toBe(1);
    expect(s.backInBand).toMatchObject({ never: 0, atEnd: 1, withinTwo: 0 });
    expect(s.backInBand.mean).toBeNaN();
    expect(s.backInBand.max).toBeNaN();
    expect(backInBandCell(s)).toBe('not back: 1 before the end');
  });

  it('counts the checkpoints to come back, and a step overtaken by the next while out as never', () => {
    const s = score([1100, 2600, 3600], [4, 4, 4, 0.1, 4, 0.1, 0.1, 0.1, 0.1, 4, 4]);
    // 1100: first seen at 2000, in band (1 checkpoint); 2600: out at 3500 and 4000 when 3600 came (never);
    // 3600: first seen at 4500, in band (1).
    expect(s.steps).toBe(3);
    expect(s.backInBand).toMatchObject({ mean: 1, max: 1, withinTwo: 2, never: 1, atEnd: 0 });
    expect(backInBandCell(s)).toBe('1.00, max 1; not back: 1 before the next step');
  });

  it('says so when there was no step', () => {
    const s = score([], [4, 4, 4]);
    expect(s.steps).toBe(0);
    expect(backInBandCell(s)).toBe('no step');
  });
});
