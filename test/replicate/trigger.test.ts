import { describe, expect, it } from 'vitest';
import type { SenderEvent } from '../../src/replicate/events.js';
import { FailoverTrigger } from '../../src/replicate/trigger.js';

const peer = '127.0.0.1:40000';
const run = '0b7e1c52-4a7f-4d3c-9e55-1f0a2b3c4d5e';
const heard = (workload?: 'alive' | 'dead'): SenderEvent => ({
  type: 'heard',
  peer,
  run,
  ...(workload ? { workload } : {}),
});
const holds: SenderEvent = { type: 'holds', peer, run, name: '00000003', how: 'received' };
const dead: SenderEvent = { type: 'workload-dead', peer, run, pid: 4242, at: '2025-01-01T00:00:00.000Z' };
const goodbye: SenderEvent = { type: 'goodbye', peer, run, reason: 'SIGTERM' };

describe('FailoverTrigger', () => {
  it('fails over when the shipper reports the workload dead, once a checkpoint is held; at most once', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(heard('alive'), 0);
    trigger.observe(holds, 10);
    expect(trigger.observe(dead, 20)).toMatchObject({
      type: 'failover',
      reason: 'workload-dead',
      message: expect.stringMatching(/pid 4242/),
    });
    expect(trigger.done).toBe(true);
    expect(trigger.observe(dead, 30)).toBeUndefined();
    expect(trigger.tick(10_000)).toBeUndefined();
  });

  it('workload-dead counts only from the run being protected (the run of the checkpoints held)', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(holds, 0);
    const otherRun = { ...dead, run: '9f0e1d2c-3b4a-4596-8877-66554433aa11' };
    expect(trigger.observe(otherRun, 10)).toMatchObject({
      type: 'ignored',
      message: expect.stringMatching(
        /of run 9f0e1d2c.*dead, but this backup's checkpoints are of run 0b7e1c52.*not restoring another run's process/,
      ),
    });
    expect(trigger.done).toBe(false);
    expect(trigger.observe(dead, 20)).toMatchObject({
      type: 'failover',
      reason: 'workload-dead',
      message: expect.stringMatching(/dead since .* \(run 0b7e1c52/),
    });
  });

  it('an offer or heartbeat saying dead does not fire by itself: the newest checkpoint may still be on its way', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(holds, 0);
    expect(trigger.observe(heard('dead'), 5)).toBeUndefined();
    expect(trigger.observe(dead, 10)).toMatchObject({ type: 'failover', reason: 'workload-dead' });
  });

  it('fails over after the silence limit, counted from the last frame, only when a checkpoint is held', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(heard(), 0);
    trigger.observe(holds, 0);
    trigger.observe(heard('alive'), 1_000);
    expect(trigger.tick(2_999)).toBeUndefined();
    expect(trigger.tick(3_000)).toMatchObject({ type: 'failover', reason: 'silence', silentMs: 2_000 });
    expect(trigger.tick(9_000)).toBeUndefined();
  });

  it('with no checkpoint received it does nothing and says so once', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(heard(), 0);
    expect(trigger.tick(2_500)).toMatchObject({
      type: 'ignored',
      message: expect.stringMatching(/no checkpoint has been received/),
    });
    expect(trigger.tick(2_600)).toBeUndefined();
    expect(trigger.observe(dead, 2_700)).toBeUndefined();
    expect(trigger.done).toBe(false);
  });

  it('nothing heard yet: no silence to count', () => {
    expect(new FailoverTrigger(2_000).tick(1e9)).toBeUndefined();
  });

  it('a goodbye disarms the silence trigger until a sender is heard again', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(holds, 0);
    trigger.observe(heard(), 100);
    trigger.observe(goodbye, 100);
    expect(trigger.tick(60_000)).toBeUndefined();
    trigger.observe(heard(), 60_000); // a new shipper's hello
    expect(trigger.tick(61_999)).toBeUndefined();
    expect(trigger.tick(62_000)).toMatchObject({ type: 'failover', reason: 'silence' });
  });

  it('does not count silence while the receiver itself is busy finishing a checkpoint', () => {
    const trigger = new FailoverTrigger(2_000);
    trigger.observe(holds, 0);
    trigger.observe(heard(), 0);
    trigger.observe({ type: 'busy', peer, run, busy: true }, 100);
    expect(trigger.tick(5_000)).toBeUndefined();
    trigger.observe({ type: 'busy', peer, run, busy: false }, 5_000);
    expect(trigger.tick(6_999)).toBeUndefined();
    expect(trigger.tick(7_000)).toMatchObject({ type: 'failover', reason: 'silence' });
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new FailoverTrigger(0)).toThrow(RangeError);
  });
});
