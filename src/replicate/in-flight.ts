import type { Channel } from './channel.js';

/**
 * The transfers in progress, at most one per checkpoint name, each on its own connection: transfers of
 * different names run side by side, so one slow or stalled sender never holds up another. A second
 * offer of a name in flight comes from a sender that reconnected, or from a stale one that kept its
 * connection: both hold this pair's primary key, and the newer offer wins. The older connection is
 * closed (its partial copy is discarded) before the newer transfer starts, so they never share a
 * partial directory.
 */
export class InFlight {
  private readonly byName = new Map<string, { channel: Channel; done: Promise<unknown> }>();

  /** Runs work as the transfer of name on channel, after cutting an older transfer of the same name. */
  async run<T>(
    name: string,
    channel: Channel,
    work: () => Promise<T>,
    onReplace: (older: Channel) => void,
  ): Promise<T> {
    for (let older = this.byName.get(name); older !== undefined; older = this.byName.get(name)) {
      onReplace(older.channel);
      older.channel.destroy();
      await older.done.catch(() => undefined);
    }
    const done = work();
    const entry = { channel, done };
    this.byName.set(name, entry);
    try {
      return await done;
    } finally {
      if (this.byName.get(name) === entry) this.byName.delete(name);
    }
  }

  /** Transfers in progress. */
  get size(): number {
    return this.byName.size;
  }

  /** Resolves once every transfer in progress now has landed or failed. */
  async settled(): Promise<void> {
    await Promise.all([...this.byName.values()].map((t) => t.done.catch(() => undefined)));
  }
}
