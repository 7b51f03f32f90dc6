// Whether the supervisor loop is making progress, for the service manager's watchdog. The loop is either
// asleep until its next checkpoint (a timer: it wakes up as long as the event loop turns) or working: CRIU,
// the delta rewrite, fsync, deleting old checkpoints, writing records. Work that has gone on for longer
// than the stall bound means something is stuck (a CRIU that does not return, a disk that does not answer),
// and the loop is then unhealthy until that work ends. A blocked event loop needs no check: nothing pings.

import type { Clock } from './clock.js';

/** What the watchdog asks. */
export interface LoopHealth {
  /** Healthy: asleep, or working for less than the stall bound. */
  healthy(): boolean;
  /** How long the current work has gone on (ms), or undefined while asleep. */
  busyForMs(): number | undefined;
}

/**
 * Wraps the supervisor's clock so that its sleeps mark the loop idle and everything between them busy.
 * The loop counts as busy from here on (start-up: locking, the lease, the first checkpoint) until it first
 * sleeps. The supervisor needs no change: it only ever waits through clock.sleep.
 */
export function watchedClock(clock: Clock, stallMs: number): { clock: Clock; health: LoopHealth } {
  let busySince: number | undefined = clock.now();
  const health: LoopHealth = {
    healthy: () => busySince === undefined || clock.now() - busySince < stallMs,
    busyForMs: () => (busySince === undefined ? undefined : clock.now() - busySince),
  };
  const watched: Clock = {
    now: () => clock.now(),
    wallNowMs: () => clock.wallNowMs(),
    sleep: async (ms, signal) => {
      busySince = undefined;
      try {
        await clock.sleep(ms, signal);
      } finally {
        busySince = clock.now();
      }
    },
  };
  return { clock: watched, health };
}
