/** Where the replication code reports what it did; the CLI adapts its logger, tests collect lines. */
export interface ReplicationLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A log that drops everything. */
export const silentLog: ReplicationLog = { info: () => undefined, warn: () => undefined };

/**
 * What a receiver learns from its senders, for whoever decides on failover (trigger.ts). `peer` is the
 * sender's address, `run` the run id its hello named (every event comes from a connection past its hello).
 */
export type SenderEvent =
  /** A frame arrived (any frame, hello included): the sender is alive. `workload` when the frame carried it. */
  | { type: 'heard'; peer: string; run: string; workload?: 'alive' | 'dead' }
  /** The backup holds this checkpoint of the sender's run now: it just landed, or it was there already (have). */
  | { type: 'holds'; peer: string; run: string; name: string; how: 'received' | 'had' }
  /** The sender saw the protected workload dead (at: when, its clock). */
  | { type: 'workload-dead'; peer: string; run: string; pid: number; at: string }
  /**
   * The receiver is busy with its own work for this sender (verifying, syncing and pruning a checkpoint
   * after its last byte): the sender waits for the ack meanwhile, so its silence is no failure.
   */
  | { type: 'busy'; peer: string; run: string; busy: boolean }
  /** The sender is stopping on purpose: its silence from now on is no failure. */
  | { type: 'goodbye'; peer: string; run: string; reason: string };

/** What the shipper reports besides its records. */
export interface ShipObserver {
  /** Connected to the backup (its hello answered), or not any more. */
  connection(up: boolean): void;
  /** A connection attempt or a transfer failed (it is retried). */
  failed(): void;
}

/** What the receiver reports. */
export interface ReceiveObserver {
  /** A sender connected (+1, after its hello) or went away (-1). */
  senders(delta: 1 | -1): void;
  /** A checkpoint landed and was acknowledged: its bytes, and when the primary took it (its clock). */
  received(bytes: number, takenAt: string): void;
  /** A transfer was discarded: cut, dropped by the sender, or rejected on verification. */
  failed(): void;
}
