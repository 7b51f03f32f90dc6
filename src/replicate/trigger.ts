import type { SenderEvent } from './events.js';

// When a backup should fail over on its own, as a pure function of what it has heard and the time (the
// caller passes a monotonic clock in ms). Two triggers:
//   workload-dead  a sender's workload-dead message. Offers and heartbeats saying `dead` do not count: the
//                  sender sends workload-dead only once the newest checkpoint has landed, and an offer
//                  saying dead is that newest checkpoint still on its way;
//   silence        no frame from any sender for `afterMs`, while armed.
// Armed means: this backup holds a checkpoint of the sender's (one landed, or an offer answered "have"),
// and the last thing a sender said was not goodbye. A goodbye disarms the silence trigger until a sender
// is heard again. While the receiver itself is busy finishing a checkpoint (the sender waits for its ack)
// silence is not counted, and the end of that work counts as hearing from the sender. Once fired, the
// trigger never fires again: a backup restores at most once.

export type FailoverReason = 'workload-dead' | 'silence';

/** What the trigger decided about an event or the passing of time. */
export type TriggerDecision =
  | { type: 'failover'; reason: FailoverReason; message: string; silentMs?: number }
  /** A trigger condition was met but there is nothing to fail over with; say so once. */
  | { type: 'ignored'; message: string };

export class FailoverTrigger {
  private holds: string | undefined;
  /** The run of the checkpoint held last: the run a failover would restore, so the run being protected. */
  private holdsRun: string | undefined;
  private lastHeardMs: number | undefined;
  private lastPeer: string | undefined;
  private farewell = false;
  private fired = false;
  private toldNothing = false;
  private busy = 0;

  /** afterMs: the silence that counts as the primary's death. */
  constructor(private readonly afterMs: number) {
    if (!(afterMs > 0)) throw new RangeError(`the silence limit must be > 0 ms, got ${afterMs}`);
  }

  /** Whether it has fired already. */
  get done(): boolean {
    return this.fired;
  }

  /**
   * Arms it again after a failover that did not happen (the fencing lease was not to be had and the shipper
   * is heard again): silence counts afresh from nowMs.
   */
  rearm(nowMs: number): void {
    this.fired = false;
    this.lastHeardMs = nowMs;
  }

  /** Takes in what a sender said or what the backup now holds. */
  observe(event: SenderEvent, nowMs: number): TriggerDecision | undefined {
    if (this.fired) return undefined;
    switch (event.type) {
      case 'heard':
        this.lastHeardMs = nowMs;
        this.lastPeer = event.peer;
        this.farewell = false;
        return undefined;
      case 'holds':
        this.holds = event.name;
        this.holdsRun = event.run;
        return undefined;
      case 'workload-dead':
        // Only the run being protected may say its workload died: a death in another run (a restarted
        // primary that has shipped nothing yet) must not restore this run's older process.
        if (this.holdsRun !== undefined && event.run !== this.holdsRun) {
          return {
            type: 'ignored',
            message:
              `the shipper at ${event.peer} reports the workload of run ${event.run} dead, but this backup's checkpoints are of run ` +
              `${this.holdsRun}: not restoring another run's process`,
          };
        }
        return this.dead(
          `the shipper at ${event.peer} reports the workload (pid ${event.pid}) dead since ${event.at} (run ${event.run})`,
        );
      case 'busy':
        this.busy = Math.max(0, this.busy + (event.busy ? 1 : -1));
        if (!event.busy) this.lastHeardMs = nowMs;
        return undefined;
      case 'goodbye':
        this.farewell = true;
        return undefined;
    }
  }

  /** Checks the silence; call it often (every few tens of ms). */
  tick(nowMs: number): TriggerDecision | undefined {
    if (this.fired || this.farewell || this.busy > 0 || this.lastHeardMs === undefined) return undefined;
    const silentMs = nowMs - this.lastHeardMs;
    if (silentMs < this.afterMs) return undefined;
    const message =
      `no message from the shipper for ${Math.round(silentMs)} ms (limit ${this.afterMs} ms; last heard from ${this.lastPeer}), ` +
      'and it said no goodbye: the primary host or the shipper died';
    if (this.holds === undefined) return this.nothing(message);
    this.fired = true;
    return { type: 'failover', reason: 'silence', message, silentMs: Math.round(silentMs) };
  }

  private dead(message: string): TriggerDecision | undefined {
    if (this.holds === undefined) return this.nothing(message);
    this.fired = true;
    return { type: 'failover', reason: 'workload-dead', message };
  }

  // No checkpoint was ever received: failing over is impossible. Said once, not on every tick.
  private nothing(message: string): TriggerDecision | undefined {
    if (this.toldNothing) return undefined;
    this.toldNothing = true;
    return {
      type: 'ignored',
      message: `${message}; but no checkpoint has been received, so there is nothing to restore: not failing over`,
    };
  }
}
