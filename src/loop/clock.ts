import type { MaybePromise } from './drive.js';

/** Time as the supervisor sees it; injected so that tests and simulations control it. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  /** Wall-clock time, ms since the epoch, for records (a number: a Date per checkpoint cost a simulation ~5 %). */
  wallNowMs(): number;
  /** Resolves after ms, or early (without throwing) when the signal aborts; a virtual clock returns at once. */
  sleep(ms: number, signal?: AbortSignal): MaybePromise<void>;
}

/**
 * The longest delay a Node timer holds: 2^31-1 ms (24.8 days). A longer one fires after 1 ms with only a
 * warning, which made `interval: 600h` take 96 checkpoints in 4 s and `--duration 720h` stop after one.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A clock whose sleep always returns a promise (the real one). */
export interface WaitingClock extends Clock {
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock; sleeps longer than MAX_TIMER_MS are slept in chunks against a monotonic deadline. */
export const systemClock: WaitingClock = {
  now: () => performance.now(),
  wallNowMs: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted || ms <= 0) return resolve();
      const deadline = performance.now() + ms;
      let timer: NodeJS.Timeout | undefined;
      const arm = () => {
        const left = deadline - performance.now();
        if (left <= 0) return done();
        timer = setTimeout(arm, Math.min(Math.ceil(left), MAX_TIMER_MS));
      };
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
      arm();
    }),
};
