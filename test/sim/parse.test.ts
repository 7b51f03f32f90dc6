import { describe, expect, it } from 'vitest';
import { parseBursts, parsePhases, parseRate, parseSeconds } from '../../src/sim/parse.js';

describe('workload text forms', () => {
  it('phases: RATE:SECONDS in the dirtier form, or sizes per second and durations with units', () => {
    expect(parsePhases('8000:10,200:10', 4096)).toEqual({
      ok: true,
      value: [
        { pagesPerSecond: 8000, durationMs: 10_000 },
        { pagesPerSecond: 200, durationMs: 10_000 },
      ],
    });
    expect(parsePhases('32MiB/s:500ms', 4096)).toEqual({
      ok: true,
      value: [{ pagesPerSecond: 8192, durationMs: 500 }],
    });
    expect(parseRate('1.5', 4096)).toEqual({ ok: true, value: 1.5 });
    expect(parseSeconds('2m')).toEqual({ ok: true, value: 120_000 });
  });

  it('phases: errors say which phase and what is allowed', () => {
    const noColon = parsePhases('8000', 4096);
    expect(noColon.ok === false && noColon.error).toMatch(/phase 1 \("8000"\) is not RATE:SECONDS; use RATE:SECONDS/);
    const badRate = parsePhases('8000:10,fast:10', 4096);
    expect(badRate.ok === false && badRate.error).toMatch(/phase 2: rate "fast" is not a number of pages\/s/);
    const zero = parsePhases('8000:0', 4096);
    expect(zero.ok === false && zero.error).toMatch(/phase 1: a phase lasts more than 0 s/);
    const mb = parsePhases('8MB/s:1', 4096);
    expect(mb.ok === false && mb.error).toMatch(/phase 1: rate "8MB\/s"/);
  });

  it('bursts: RATE:DURATION:EVERY', () => {
    expect(parseBursts('20000:200ms:5s', 4096)).toEqual({
      ok: true,
      value: { pagesPerSecond: 20_000, durationMs: 200, everyMs: 5000 },
    });
    const often = parseBursts('1:1s:100ms', 4096);
    expect(often.ok === false && often.error).toMatch(/more often/);
    const short = parseBursts('1:1s', 4096);
    expect(short.ok === false && short.error).toMatch(/RATE:DURATION:EVERY/);
  });
});
