import { describe, expect, it } from 'vitest';
import { TransferClock } from '../../src/replicate/transfer-clock.js';

const limits = { minBytesPerSecond: 1000, windowMs: 1000, graceMs: 500 };

describe('TransferClock', () => {
  it('the deadline is grace + size / minimum rate, however many heartbeats (they are not data)', () => {
    const clock = new TransferClock(3000, limits, 0);
    expect(clock.deadlineMs).toBe(3500);
    for (let t = 0; t < 3000; t += 1000) {
      clock.data(1000); // keeps the rate exactly
      expect(clock.check(t + 999)).toBeUndefined();
    }
    expect(clock.check(3499)).toBeUndefined();
    expect(clock.check(3500)).toMatch(
      /not done after 3500 ms \(deadline 3500 ms for 3000 bytes at ≥ 1000 B\/s plus 500 ms\); 3000 bytes received/,
    );
  });

  it('each window must bring the minimum rate, or every byte still missing', () => {
    const slow = new TransferClock(10_000, limits, 0);
    slow.data(999);
    expect(slow.check(1000)).toMatch(
      /999 bytes of file data in the last 1000 ms, below the minimum rate of 1000 B\/s \(1000 bytes\)/,
    );
    const finishing = new TransferClock(1500, limits, 0);
    finishing.data(1000);
    expect(finishing.check(1000)).toBeUndefined();
    finishing.data(500); // the last 500 bytes: less than a window's worth, but all that was missing
    expect(finishing.check(1999)).toBeUndefined();
    const idle = new TransferClock(1500, limits, 0);
    expect(idle.check(999)).toBeUndefined();
    expect(idle.check(1000)).toMatch(/^0 bytes of file data/);
  });

  it('refuses limits that would never cut anything', () => {
    expect(() => new TransferClock(1, { ...limits, minBytesPerSecond: 0 }, 0)).toThrow(RangeError);
    expect(() => new TransferClock(1, { ...limits, windowMs: Number.NaN }, 0)).toThrow(RangeError);
  });
});
