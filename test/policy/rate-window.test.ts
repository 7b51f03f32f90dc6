import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RateWindow } from '../../src/policy/predictive-arithmetic.js';

// What a RateWindow must hold: a plain array, oldest first, shifted when full; its mean summed oldest first.
class PlainWindow {
  values: number[] = [];
  push(value: number, window: number): void {
    this.values.push(value);
    this.values = this.values.slice(Math.max(0, this.values.length - window));
  }
  mean(): number {
    let sum = 0;
    for (const v of this.values) sum += v;
    return sum / this.values.length;
  }
}

type Op =
  | { kind: 'push'; value: number; window: number }
  | { kind: 'only'; value: number }
  | { kind: 'load'; values: number[] };

const CAPACITY = 8;
const value = fc.double({ min: -20, max: 20, noNaN: true });
const ops = fc.array(
  fc.oneof(
    {
      weight: 8,
      arbitrary: fc.record({
        kind: fc.constant('push' as const),
        value,
        window: fc.integer({ min: 1, max: CAPACITY }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('only' as const), value }) },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('load' as const), values: fc.array(value, { maxLength: CAPACITY }) }),
    },
  ),
  { maxLength: 60 },
);

// Runs the ops on both and compares what the decider reads after each: count, newest, mean (bit for bit), values.
function agrees(sequence: Op[], window: RateWindow): boolean {
  const plain = new PlainWindow();
  for (const op of sequence) {
    if (op.kind === 'push') {
      window.push(op.value, op.window);
      plain.push(op.value, op.window);
    } else if (op.kind === 'only') {
      window.only(op.value);
      plain.values = [op.value];
    } else {
      window.load(op.values);
      plain.values = [...op.values];
    }
    const newest = plain.values.at(-1) ?? Number.NaN;
    if (window.count !== plain.values.length || !Object.is(window.newest, newest)) return false;
    if (window.count > 0 && !Object.is(window.mean(), plain.mean())) return false;
    if (JSON.stringify(window.toArray()) !== JSON.stringify(plain.values)) return false;
  }
  return true;
}

describe("RateWindow: the estimate's window of log rates", () => {
  it('holds what a plain array shifted when full holds, and sums it oldest first to the same bits', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        expect(agrees(sequence, new RateWindow(CAPACITY))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('negative control: a window that forgets to drop its oldest value is told apart', () => {
    class Unbounded extends RateWindow {
      override push(v: number): void {
        super.push(v, CAPACITY);
      }
    }
    const sequence: Op[] = Array.from({ length: 6 }, (_, i) => ({ kind: 'push', value: i, window: 3 }));
    expect(agrees(sequence, new RateWindow(CAPACITY))).toBe(true);
    expect(agrees(sequence, new Unbounded(CAPACITY))).toBe(false);
  });
});
