import { describe, expect, it } from 'vitest';
import { rateAt, scheduleOfPhases, writesBetween } from '../../src/sim/rate.js';

const phases = [
  { pagesPerSecond: 1000, durationMs: 1000 },
  { pagesPerSecond: 0, durationMs: 500 },
  { pagesPerSecond: 4000, durationMs: 500 },
];

describe('rate schedules', () => {
  it('integrates piecewise-constant phases', () => {
    const s = scheduleOfPhases(phases, false);
    expect(writesBetween(s, 0, 1000)).toBe(1000);
    expect(writesBetween(s, 500, 1500)).toBe(500);
    expect(writesBetween(s, 0, 2000)).toBe(3000);
    expect(writesBetween(s, 1250, 1750)).toBe(1000);
    expect(writesBetween(s, 100, 100)).toBe(0);
    expect(writesBetween(s, -500, 500)).toBe(500); // nothing before 0
  });

  it('cycling phases repeat with the period of the whole list', () => {
    const s = scheduleOfPhases(phases, true);
    expect(writesBetween(s, 2000, 4000)).toBe(3000);
    expect(writesBetween(s, 0, 20_000)).toBe(30_000);
    expect(rateAt(s, 2100)).toBe(1);
    expect(rateAt(s, 3900)).toBe(4);
  });

  it('without cycling, the last rate holds past the end', () => {
    const s = scheduleOfPhases(phases, false);
    expect(writesBetween(s, 2000, 3000)).toBe(4000);
    expect(rateAt(s, 10_000)).toBe(4);
    expect(rateAt(s, -1)).toBe(0);
  });

  it('is additive: writes(a, c) = writes(a, b) + writes(b, c)', () => {
    const s = scheduleOfPhases(phases, true);
    for (const [a, b, c] of [[0, 700, 5300], [1234, 1999, 2001], [10, 10, 10_000]] as const) {
      expect(writesBetween(s, a, c)).toBeCloseTo(writesBetween(s, a, b) + writesBetween(s, b, c), 9);
    }
  });

  it('refuses empty, negative or zero-length phases', () => {
    expect(() => scheduleOfPhases([], true)).toThrow(/at least one phase/);
    expect(() => scheduleOfPhases([{ pagesPerSecond: -1, durationMs: 10 }], true)).toThrow(/phase 1: rate -1/);
    expect(() => scheduleOfPhases([{ pagesPerSecond: 1, durationMs: 0 }], true)).toThrow(/phase 1: duration 0/);
  });
});
