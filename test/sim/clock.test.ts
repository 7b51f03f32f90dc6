import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../src/sim/clock.js';

describe('VirtualClock', () => {
  it('starts at 0 and moves only when told', () => {
    const clock = new VirtualClock(new Date('2026-01-01T00:00:00Z'));
    expect(clock.now()).toBe(0);
    expect(clock.now()).toBe(0);
    clock.advance(250);
    clock.advanceTo(1000);
    expect(clock.now()).toBe(1000);
    expect(new Date(clock.wallNowMs()).toISOString()).toBe('2026-01-01T00:00:01.000Z');
    clock.sleep(500); // returns at once: nothing to wait for in virtual time
    expect(clock.now()).toBe(1500);
  });

  it('an aborted sleep does not move time', () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    controller.abort();
    clock.sleep(100, controller.signal);
    expect(clock.now()).toBe(0);
  });

  it('with a lateness, each sleep ends that much later (a sleep of nothing is not late)', () => {
    const lates = [3, 11];
    const clock = new VirtualClock(undefined, () => lates.shift() ?? 0);
    clock.sleep(100);
    expect(clock.now()).toBe(103);
    clock.sleep(0); // nothing to wait for: no draw
    clock.sleep(-5);
    expect(clock.now()).toBe(103);
    clock.sleep(100);
    expect(clock.now()).toBe(214);
  });

  it('refuses to go backwards or by a non-finite amount', () => {
    const clock = new VirtualClock();
    clock.advance(10);
    expect(() => clock.advanceTo(5)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.advance(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(clock.now()).toBe(10);
  });
});
