import { describe, expect, it } from 'vitest';
import { countOption, durationOption, pidOption, secondsOption, timerDurationOption } from '../../src/cli/options.js';
import { MAX_TIMER_MS } from '../../src/loop/clock.js';

describe('command-line value parsers', () => {
  it('pids are whole numbers from 1 to 2^22', () => {
    const pid = pidOption('pid');
    expect(pid('4242')).toBe(4242);
    for (const bad of ['abc', '0', '-1', '1.5', '', '4194305', '12abc'])
      expect(() => pid(bad)).toThrow(/is not a process id/);
  });

  it('durations need a unit; timer durations stop at 2^31-1 ms', () => {
    const duration = durationOption('duration');
    expect(duration('720h')).toBe(720 * 3_600_000);
    expect(duration('1.5s')).toBe(1500);
    expect(() => duration('10')).toThrow(/has no unit/);
    expect(() => duration('10 parsecs')).toThrow(/is not a duration/);
    const timer = timerDurationOption('failover-after');
    expect(timer('24h')).toBe(86_400_000);
    expect(() => timer('0s')).toThrow(/more than 0/);
    expect(() => timer(`${MAX_TIMER_MS + 1}ms`)).toThrow(/too long/);
  });

  it('--seconds takes a bare number of seconds or a duration, in ms', () => {
    const seconds = secondsOption('seconds');
    expect(seconds('10')).toBe(10_000);
    expect(seconds('10s')).toBe(10_000);
    expect(seconds('2m')).toBe(120_000);
    expect(() => seconds('0')).toThrow(/more than 0/);
    expect(() => seconds('ten')).toThrow(/is not a duration/);
  });

  it('counts are whole numbers ≥ the minimum', () => {
    const count = countOption('max-checkpoints');
    expect(count('3')).toBe(3);
    for (const bad of ['0', '1.5', 'x', '-2']) expect(() => count(bad)).toThrow(/whole number ≥ 1/);
  });
});
