// The client's view of a failover: INCR after INCR on ONE redis connection, each acknowledged value recorded
// with when it arrived and which server it came from. Two servers answer at the same service address (the
// original behind one host, the restored copy behind another) and a restored redis is the same process as the
// original (same run_id, pid and client id), so a reply is attributed by the path it took: the counters of
// packets received from each host, read before the request and after its reply.

import type { RespClient } from './resp-client.js';

/** One acknowledged INCR. */
export interface Ack {
  value: number;
  /** Date.now() when the reply arrived (comparable with remusd's ISO timestamps). */
  at: number;
  /** The source whose packet count moved while the request was out; 'both' or 'none' when that is unclear. */
  via: string;
}

export class IncrLoop {
  readonly acks: Ack[] = [];
  /** Why the loop ended before stop() (the connection broke, a reply timed out), if it did. */
  error: string | undefined;
  private stopped = false;
  private readonly done: Promise<void>;

  /** Starts looping at once; each request waits up to requestTimeoutMs (TCP retransmits across a failover). */
  constructor(
    private readonly client: RespClient,
    private readonly sources: Record<string, () => number>,
    private readonly requestTimeoutMs = 90_000,
  ) {
    this.done = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      const before = this.count();
      try {
        const value = await this.client.incr('counter', this.requestTimeoutMs);
        const after = this.count();
        const moved = Object.keys(before).filter((name) => after[name]! > before[name]!);
        this.acks.push({
          value,
          at: Date.now(),
          via: moved.length === 1 ? moved[0]! : moved.length === 0 ? 'none' : 'both',
        });
      } catch (error) {
        this.error = (error as Error).message;
        return;
      }
    }
  }

  private count(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.sources).map(([name, read]) => [name, read()]));
  }

  /** Resolves once count more values were acknowledged (rejects if the loop ended first). */
  async waitForMore(count: number, timeoutMs: number): Promise<void> {
    const target = this.acks.length + count;
    const deadline = Date.now() + timeoutMs;
    while (this.acks.length < target) {
      if (this.error !== undefined)
        throw new Error(`the client's loop ended after ${this.acks.length} acknowledged values: ${this.error}`);
      if (Date.now() > deadline)
        throw new Error(`only ${this.acks.length} of ${target} values acknowledged after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Stops after the request in flight (waiting for it at most 10 s). */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.race([this.done, new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }

  /** Each value exactly one more than the one before. */
  consecutive(): boolean {
    return this.acks.every((ack, i) => i === 0 || ack.value === this.acks[i - 1]!.value + 1);
  }

  /** The sources in the order they answered, runs collapsed: ['primary', 'backup'] is one server at a time. */
  servers(): string[] {
    return this.acks.map((ack) => ack.via).filter((via, i, all) => i === 0 || via !== all[i - 1]);
  }
}
