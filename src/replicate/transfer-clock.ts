// How long one checkpoint's transfer may take, as a pure function of its size, the bytes seen and the
// time (the caller passes a monotonic clock in ms). Only file bytes count: heartbeats and other status
// messages say the sender is alive, not that the transfer progresses, so a sender that was accepted and
// then only heartbeats is cut like one that went silent. Two limits:
//   deadline   the whole transfer, from accept to done: graceMs + size / minBytesPerSecond;
//   rate       every windowMs, at least minBytesPerSecond × windowMs new bytes, or every byte still
//              missing when the window began (the last window of an honest sender is short).

export interface TransferLimits {
  /** The slowest data rate a sender may keep up, in bytes per second. */
  minBytesPerSecond: number;
  /** The window over which the rate is measured. */
  windowMs: number;
  /** Time on top of size / rate: round trips, the done message, a sender reading its files from disk. */
  graceMs: number;
}

// 1 MiB/s: 64 MiB of full dump in ≤ 74 s; loopback moves ~400 MiB/s here, a 100 Mbit/s link 12 MiB/s.
export const DEFAULT_TRANSFER_LIMITS: TransferLimits = {
  minBytesPerSecond: 1 << 20,
  windowMs: 10_000,
  graceMs: 10_000,
};

export class TransferClock {
  /** The whole transfer must be done by then (ms on the caller's clock). */
  readonly deadlineMs: number;
  private received = 0;
  private windowStartMs: number;
  private windowStartBytes = 0;

  constructor(
    private readonly expectedBytes: number,
    private readonly limits: TransferLimits,
    private readonly startMs: number,
  ) {
    if (!(limits.minBytesPerSecond > 0) || !(limits.windowMs > 0) || !(limits.graceMs >= 0))
      throw new RangeError(`invalid transfer limits ${JSON.stringify(limits)}`);
    this.deadlineMs = startMs + limits.graceMs + (expectedBytes * 1000) / limits.minBytesPerSecond;
    this.windowStartMs = startMs;
  }

  /** File bytes arrived. */
  data(bytes: number): void {
    this.received += bytes;
  }

  /** Why the transfer must be cut now, or undefined while it keeps within the limits. */
  check(nowMs: number): string | undefined {
    if (nowMs >= this.deadlineMs) {
      return (
        `not done after ${Math.round(nowMs - this.startMs)} ms (deadline ${Math.round(this.deadlineMs - this.startMs)} ms for ${this.expectedBytes} bytes ` +
        `at ≥ ${this.limits.minBytesPerSecond} B/s plus ${this.limits.graceMs} ms); ${this.received} bytes received`
      );
    }
    if (nowMs - this.windowStartMs < this.limits.windowMs) return undefined;
    const got = this.received - this.windowStartBytes;
    const missing = Math.max(0, this.expectedBytes - this.windowStartBytes);
    const needed = Math.min(missing, Math.ceil((this.limits.minBytesPerSecond * (nowMs - this.windowStartMs)) / 1000));
    if (got < needed) {
      return `${got} bytes of file data in the last ${Math.round(nowMs - this.windowStartMs)} ms, below the minimum rate of ${this.limits.minBytesPerSecond} B/s (${needed} bytes)`;
    }
    this.windowStartMs = nowMs;
    this.windowStartBytes = this.received;
    return undefined;
  }
}
