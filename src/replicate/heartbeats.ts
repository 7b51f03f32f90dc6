// Heartbeats while the shipper is busy with a checkpoint. Before an offer the shipper reads and hashes
// every file of the checkpoint (its manifest), and it sent nothing meanwhile. Measured with the shipper's
// reads slowed to 2 MiB/s (test/replicate/ship-heartbeat.test.ts): a 16.9 MB full dump took 8.1 s to read
// and hash, and a backup with --failover-after 2s failed over after 2.0 s of that silence, restoring a
// second copy of a workload that was running (on one machine CRIU failed with "Can't fork for PID: File
// exists"; on two it would have run twice). Past the receiver's idle timeout (30 s) the same silence also
// drops the connection (receiver.ts). The protocol allows a heartbeat at any moment (the receiver takes
// status messages between checkpoints and during a transfer), and the transfer clock counts only file
// bytes, so a shipper that heartbeats without progress is still cut by the transfer's rate limit.

import type { Channel } from './channel.js';
import type { WorkloadWatch } from './workload-watch.js';

/** The shipper's default: a heartbeat after this long without other traffic (and every this long while busy). */
export const DEFAULT_HEARTBEAT_MS = 1_000;

/** The workload's state as offers and heartbeats carry it (nothing without a workload to watch). */
export function workloadField(workload: WorkloadWatch | undefined): { workload?: WorkloadWatch['state'] } {
  return workload === undefined ? {} : { workload: workload.state };
}

/** Runs `work` on the channel, sending a heartbeat every heartbeatMs until it settles. */
export async function heartbeatingWhile<T>(
  channel: Channel,
  heartbeatMs: number,
  workload: WorkloadWatch | undefined,
  work: () => Promise<T>,
): Promise<T> {
  let sending = false;
  const timer = setInterval(() => {
    if (sending) return; // the previous one still waits for the socket to drain: the peer hears us anyway
    sending = true;
    channel
      .send({ type: 'heartbeat', at: new Date().toISOString(), ...workloadField(workload) })
      // A closed connection fails the work itself, with its own message.
      .catch(() => undefined)
      .finally(() => (sending = false));
  }, heartbeatMs);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
