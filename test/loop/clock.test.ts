import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_MS, systemClock } from '../../src/loop/clock.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('systemClock.sleep', () => {
  it('sleeps past what one Node timer holds (2^31-1 ms) instead of waking after 1 ms', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const hours600 = 600 * 3_600_000; // interval: 600h, more than MAX_TIMER_MS
    expect(hours600).toBeGreaterThan(MAX_TIMER_MS);
    let woke = false;
    const sleeping = systemClock.sleep(hours600).then(() => (woke = true));
    await vi.advanceTimersByTimeAsync(1000);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS); // one full timer later: still 600h - 24.8 days to go
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(hours600 - MAX_TIMER_MS - 1000 - 1);
    expect(woke).toBe(false);
    await vi.advanceTimersByTimeAsync(2);
    await sleeping;
    expect(woke).toBe(true);
  });

  it('ends a long sleep early when the signal aborts, leaving no timer behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const controller = new AbortController();
    const sleeping = systemClock.sleep(720 * 3_600_000, controller.signal);
    await vi.advanceTimersByTimeAsync(5000);
    controller.abort();
    await sleeping;
    expect(vi.getTimerCount()).toBe(0);
  });
});
