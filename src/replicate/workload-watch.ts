import { isAlive } from '../process/proc.js';
import type { WorkloadState } from './protocol.js';

/**
 * Watches the protected workload on the primary by polling its pid. Once seen dead it stays dead: a
 * process with the same pid later is another one (pid reuse, or a restore on this very machine).
 * `gone`, when given, is asked too: a fenced workload (frozen by remusd run, src/fence/) is alive by its pid
 * but will never run here again, so it counts as dead.
 */
export class WorkloadWatch {
  private current: WorkloadState = 'alive';
  private diedAt: Date | undefined;
  private readonly listeners = new Set<() => void>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    readonly pid: number,
    private readonly pollMs = 100,
    private readonly gone: () => Promise<boolean> = async () => false,
  ) {}

  /** Polls until stop() or the death; the first poll runs at once. */
  start(): this {
    const poll = async () => {
      if (this.polling || this.current === 'dead') return;
      this.polling = true;
      try {
        if (!(await isAlive(this.pid)) || (await this.gone())) this.died();
      } finally {
        this.polling = false;
      }
    };
    void poll();
    this.timer = setInterval(() => void poll(), this.pollMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  get state(): WorkloadState {
    return this.current;
  }

  /** When it was first seen dead. */
  get deadSince(): Date | undefined {
    return this.diedAt;
  }

  /** Calls listener once when the workload is seen dead (at once if it is already); returns an unsubscribe. */
  onDeath(listener: () => void): () => void {
    if (this.current === 'dead') {
      listener();
      return () => undefined;
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private died(): void {
    this.current = 'dead';
    this.diedAt = new Date();
    clearInterval(this.timer);
    for (const listener of this.listeners) listener();
    this.listeners.clear();
  }
}
