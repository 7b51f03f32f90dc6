import type { HoldHistogram } from './histogram.js';

/** How outbound packets are held: a TUN device owned by remusd's helper, or the kernel's plug qdisc. */
export type GateMechanism = 'tun' | 'plug';

/** What barrier(N) closed: the packets read into epoch N since the previous barrier. */
export interface EpochClosed {
  epoch: number;
  packets: number;
  bytes: number;
}

/** What release(N) let out: every packet held up to barrier N, oldest first. */
export interface EpochReleased {
  epoch: number;
  packets: number;
  bytes: number;
  /** Packets dropped since the last release because the held bytes reached the bound. */
  dropped: number;
  /** How long each released packet was held (µs buckets, see histogram.ts). */
  holds: HoldHistogram;
}

/** What an inbound hold let through at its end: the packets that arrived for the workload during the dump. */
export interface InboundReleased {
  packets: number;
  bytes: number;
  /** Packets the hold's queue could not take (full), counted since the gate started. */
  droppedTotal: number;
}

/**
 * remusd's lossless network lock: every packet for the workload is held (queued, never dropped) while one
 * CRIU dump runs, so that CRIU can dump TCP sockets with `--network-lock skip`. CRIU's own nftables lock
 * DROPS those packets, and the clients' retransmission timeouts (200 ms+, 1 s for a SYN) then dominate
 * their latency. Why this is safe for CRIU's TCP repair: README, "Output commit", the network lock.
 */
export interface InboundHold {
  /** From now until release(), packets for the workload are queued (remusd calls it before CRIU starts). */
  hold(): Promise<void>;
  /** Lets the held packets in, in order (remusd calls it once CRIU has exited, sockets out of repair mode). */
  release(): Promise<InboundReleased>;
}

/**
 * Remus' output commit. The workload's outbound packets are held per epoch: barrier(N) ends epoch N (remusd
 * calls it just before the dump of checkpoint N starts, so a packet read after it belongs to a later epoch),
 * and release(N) lets out, in order and without loss, every packet up to barrier N once checkpoint N is safe.
 * Releases are cumulative: releasing N releases every earlier epoch too, so a failed dump's epoch simply
 * waits for the next checkpoint that covers it. Inbound packets are held only by `inbound`, during dumps.
 */
export interface OutputGate {
  readonly mechanism: GateMechanism;
  /** The lossless network lock, when this gate provides one (the TUN gate, asked for it). */
  readonly inbound: InboundHold | undefined;
  barrier(epoch: number): Promise<EpochClosed>;
  release(epoch: number): Promise<EpochReleased>;
  /**
   * Checkpoint `epoch` failed: no release of its own will come, and its packets wait for a later one that
   * covers them. The next barrier must not wait for it (a gate that keeps one closed epoch would otherwise
   * wait forever, and with it the supervisor and the workload's clients).
   */
  abandon(epoch: number): Promise<void>;
  /**
   * A clean stop: releases everything still held and removes the gate, so the workload's output flows
   * unprotected from then on (remusd never leaves a workload cut off on purpose).
   */
  open(): Promise<void>;
  /** Tears the gate down WITHOUT releasing: what a crash does (held packets are lost, nothing leaks). */
  destroy(): Promise<void>;
}

/** Remus' output commit around each checkpoint (src/gate/commit.ts): a barrier before, a release when safe. */
export interface OutputFence {
  /** Just before the dump of checkpoint seq starts: the workload's output from now on belongs to a later epoch (and with an inbound hold, its input waits). */
  beforeDump(seq: number): Promise<void>;
  /** As soon as CRIU has exited (success or not): held input goes in. Idempotent. */
  afterDump(): Promise<void>;
  /** Checkpoint seq is complete in dir: make it safe and release (or leave that to the backup's ack); returns record fields. */
  afterCheckpoint(seq: number, root: string, dir: string): Promise<Record<string, unknown>>;
  /**
   * Before a checkpoint starts: resolves once it may (undefined: at once). With the backup's ack releasing the
   * output, not while more than one checkpoint awaits it, and never later than boundMs from now.
   */
  paced?(boundMs: number): Promise<void> | undefined;
}
