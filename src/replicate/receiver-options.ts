// The receiver's options and limits, and what its connections share (receiver.ts, receive-offer.ts).
import type { Endpoint } from '../units/endpoint.js';
import type { BackupCompactor } from './compaction.js';
import type { ReceiveObserver, ReplicationLog, SenderEvent } from './events.js';
import type { InFlight } from './in-flight.js';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from './listener.js';
import type { Credentials } from './tls/files.js';
import { DEFAULT_TRANSFER_LIMITS, type TransferLimits } from './transfer-clock.js';

/** Every limit a receiver puts on its peers (each has a default). */
export interface ReceiverLimits extends ListenerLimits, TransferLimits {
  /** After the handshake, the peer's hello must arrive within this. */
  helloTimeoutMs: number;
  /** A connection silent this long between transfers is dropped (the sender heartbeats every second when idle). */
  idleTimeoutMs: number;
}

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = {
  ...DEFAULT_LISTENER_LIMITS,
  ...DEFAULT_TRANSFER_LIMITS,
  helloTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};

/**
 * `backup --keep-runs`: the current life of the primary and the two before it. A run holds a full base
 * checkpoint (the workload's memory) plus its deltas, and a primary restarted daily would otherwise add one
 * such run a day for as long as the backup runs.
 */
export const DEFAULT_KEEP_RUNS = 3;

export interface ReceiverOptions {
  /** The backup's own images directory. */
  root: string;
  /** Keep this many newest complete checkpoints (and every ancestor they need). */
  keep: number;
  /** Keep this many newest runs (run-retention.ts); undefined: every run is kept. */
  keepRuns?: number | undefined;
  /** Flatten a run's chain at compactAt links (compaction.ts); pageSize is this machine's. Undefined: never. */
  compaction?: { compactAt: number; pageSize: number };
  log: ReplicationLog;
  /** The backup's side of its pair's key material: only the pair's primary gets past the handshake. */
  credentials: Credentials;
  limits?: Partial<ReceiverLimits>;
  /** Told what the senders say and what the backup holds (for automatic failover). */
  onEvent?: (event: SenderEvent) => void;
  /** Told of connected senders, received bytes and failed transfers (the metrics). */
  observer?: ReceiveObserver;
}

export interface Receiver {
  /** Where it listens (the real port when 0 was asked for). */
  endpoint: Endpoint;
  /**
   * Stops taking checkpoints: later offers are refused (reason failed-over, with `why`). Resolves once the
   * transfers in progress, if any, have landed or been dropped. With dropConnections every sender
   * connection is closed at once, which discards the transfers in progress instead of waiting for them.
   */
  closeIntake(why: string, options?: { dropConnections?: boolean }): Promise<void>;
  close(): Promise<void>;
}

// What serve() and receiveOffer() share: the options, the transfers in progress and whether intake is closed.
export interface Intake {
  options: ReceiverOptions;
  limits: ReceiverLimits;
  transfers: InFlight;
  /** Retention in progress: a transfer starts only after it, so its parent cannot vanish under it. */
  pruning: Promise<void>;
  /** Connected senders per run id: a run is never removed while a sender of it is connected. */
  receiving: Map<string, number>;
  /** Compactions of the runs' chains (one at a time; transfers go on beside it). */
  compactor: BackupCompactor;
  closed: string | undefined;
}

/** One sender connection after its hello: where it is, its run, and the backup's directory for that run. */
export interface Sender {
  peer: string;
  /** The run id its hello named (events carry it: liveness belongs to a run). */
  run: string;
  dir: string;
}
