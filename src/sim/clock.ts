import type { Clock } from '../loop/clock.js';

/**
 * A virtual clock for simulations (implements the loop's Clock). Time starts at 0 and moves only when
 * told: advance/advanceTo, or sleep, which moves it forward by the time slept and resolves at once (in a
 * simulation the sleeper is the only actor). Wall time is the injected epoch plus the virtual time.
 */
export class VirtualClock implements Clock {
  #nowMs = 0;
  readonly #epochMs: number;
  readonly #lateMs: (() => number) | undefined;

  /** lateMs: how late each sleep ends (ms ≥ 0, drawn per sleep), as a real timer under load; default never. */
  constructor(epoch: Date = new Date(0), lateMs?: () => number) {
    this.#epochMs = epoch.getTime();
    this.#lateMs = lateMs;
  }

  // Monotonic virtual milliseconds since the clock was made.
  now(): number {
    return this.#nowMs;
  }

  // The injected epoch plus the virtual time.
  wallNowMs(): number {
    return this.#epochMs + this.#nowMs;
  }

  // Moves time forward by ms, and the lateness drawn if any (unless aborted first), and returns at once.
  sleep(ms: number, signal?: AbortSignal): void {
    if (!signal?.aborted && ms > 0) this.advance(this.#lateMs === undefined ? ms : ms + this.#lateMs());
  }

  /** Moves time forward by ms (≥ 0). */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw backwards(ms);
    this.#nowMs += ms;
  }

  /** Moves time to t, which must not be in the past. */
  advanceTo(t: number): void {
    this.advance(t - this.#nowMs);
  }
}

// The error for a bad step, made out of line: advance() stays small enough for V8 to inline into the simulator's
// loop, which calls it twice per checkpoint.
function backwards(ms: number): RangeError {
  return new RangeError(`a virtual clock only moves forward by a finite amount, not ${ms} ms`);
}
