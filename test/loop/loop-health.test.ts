import { describe, expect, it } from 'vitest';
import type { Clock } from '../../src/loop/clock.js';
import { watchedClock } from '../../src/loop/loop-health.js';
import { formatNotification, watchdogMsFrom } from '../../src/process/service-notify.js';

// A clock the test moves by hand; sleep resolves when the test says so.
function manualClock() {
  let now = 0;
  let wake: (() => void) | undefined;
  const clock: Clock = {
    now: () => now,
    wallNowMs: () => now,
    sleep: () => new Promise<void>((resolve) => (wake = resolve)),
  };
  return { clock, advance: (ms: number) => (now += ms), wake: () => wake?.() };
}

describe('loop health for the watchdog', () => {
  it('is busy from the start, idle while the loop sleeps, and unhealthy only when one step outlasts the stall bound', async () => {
    const manual = manualClock();
    const { clock, health } = watchedClock(manual.clock, 1000);
    expect(health.busyForMs()).toBe(0);
    manual.advance(999);
    expect(health.healthy()).toBe(true);
    manual.advance(1);
    expect(health.healthy()).toBe(false); // start-up (or a checkpoint) that took the whole bound
    const sleeping = clock.sleep(60_000);
    expect(health.busyForMs()).toBeUndefined();
    manual.advance(10 * 60_000);
    expect(health.healthy()).toBe(true); // a long sleep is not a stall
    manual.wake();
    await sleeping;
    expect(health.busyForMs()).toBe(0); // a new step starts when the sleep ends
    manual.advance(500);
    expect(health.healthy()).toBe(true);
    manual.advance(5000);
    expect(health.healthy()).toBe(false); // a CRIU that does not return
    expect(health.busyForMs()).toBe(5500);
  });
});

describe('notify protocol text', () => {
  it('one KEY=VALUE per line; a value cannot start a new key or end the message', () => {
    expect(formatNotification({ READY: '1', STATUS: 'ok' })).toBe('READY=1\nSTATUS=ok');
    expect(formatNotification({ STATUS: 'a\nREADY=1\0b' })).toBe('STATUS=a READY=1 b');
    expect(formatNotification({ STATUS: 'x'.repeat(5000) }).length).toBe('STATUS='.length + 1024);
  });

  it('WATCHDOG_USEC applies only to the pid WATCHDOG_PID names (or to anyone without it)', () => {
    expect(watchdogMsFrom({ WATCHDOG_USEC: '4000000' }, 42)).toBe(4000);
    expect(watchdogMsFrom({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '42' }, 42)).toBe(4000);
    expect(watchdogMsFrom({ WATCHDOG_USEC: '4000000', WATCHDOG_PID: '41' }, 42)).toBeUndefined();
    expect(watchdogMsFrom({}, 42)).toBeUndefined();
    expect(watchdogMsFrom({ WATCHDOG_USEC: 'x' }, 42)).toBeUndefined();
    expect(watchdogMsFrom({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
  });
});
