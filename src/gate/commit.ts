import { DurableChains } from '../fs/durable-chain.js';
import type { Degrade } from './degrade.js';
import type { EpochReleased, OutputFence, OutputGate } from './gate.js';
import { countOf, mergeInto, quantileMs, type HoldHistogram } from './histogram.js';

/** What makes checkpoint N safe enough to release epoch N's output. */
export type ReleaseAfter = 'fsync' | 'backup-ack';

/** Output-commit fields of a checkpoint record. */
// A type, not an interface: records take it as Record<string, unknown>.
export type OutputRecordFields = {
  /** Packets and bytes the workload sent during this checkpoint's epoch (held until it was safe). */
  output_packets: number;
  output_bytes: number;
  /** The newest epoch released so far (with backup-ack, usually an earlier checkpoint's). */
  released_through: number | null;
  /** Barrier to release of that epoch: how long its last packet waited. */
  release_ms: number | null;
  /** How long the packets released since the previous record were held. */
  hold_p50_ms: number | null;
  hold_p99_ms: number | null;
  /** Packets dropped at the bound since the previous record. */
  output_dropped: number;
  /** Packets for the workload that arrived during this checkpoint's dump, held and let in after it (null: no inbound hold, CRIU's lock dropped them). */
  input_held: number | null;
  /** Output released without the backup's ack since the backup went silent, not yet caught up (src/gate/degrade.ts). */
  degraded: boolean;
  /** How long this checkpoint waited to start for the backup's ack (Remus' pacing; 0: it did not wait). */
  paced_ms: number;
};

/** Run-wide totals: what output commit cost the clients. */
export interface OutputSummary {
  packets: number;
  bytes: number;
  dropped: number;
  holdP50Ms: number | undefined;
  holdP99Ms: number | undefined;
  releaseP50Ms: number | undefined;
  releaseP99Ms: number | undefined;
  /** Checkpoints that waited for the backup's ack before starting, and how long in all. */
  pacedCheckpoints: number;
  pacedMs: number;
}

export interface OutputCommitEvents {
  /** An epoch was released (for metrics). */
  released?(release: EpochReleased, releaseMs: number): void;
}

/**
 * Remus' output commit around each checkpoint: a barrier just before the dump, and the release of that
 * epoch once the checkpoint is safe — after its fsync here, or when `remusd ship` reports the backup's ack
 * (releaseAcked, through the gate's control socket). A failed dump releases nothing: its epoch waits for a
 * later checkpoint, which covers it (releases are cumulative).
 */
export class OutputCommit implements OutputFence {
  private readonly barriers = new Map<number, { atMs: number; packets: number; bytes: number }>();
  private lastReleased: { epoch: number; releaseMs: number } | undefined;
  private readonly sinceRecord: HoldHistogram = new Map();
  private droppedSinceRecord = 0;
  private readonly holds: HoldHistogram = new Map();
  private readonly releaseTimes: number[] = [];
  private totals = { packets: 0, bytes: 0, dropped: 0 };
  /** Pacing: the wait of the checkpoint about to be recorded, and the run's. */
  private pacedSinceRecordMs = 0;
  private pacedTotals = { checkpoints: 0, ms: 0 };
  private releasing: Promise<unknown> = Promise.resolve();
  /** The newest barrier, and the newest checkpoint that completed (a failed one never does). */
  private lastBarrier: number | undefined;
  private lastCompleted: number | undefined;
  /** The inbound hold in force (one dump's), and what the last one let in. */
  private inboundHeld = false;
  private lastInput: number | null = null;
  /** The newest epoch released (cumulative: an ack for an older one releases nothing more). */
  private releasedSeq: number | undefined;
  private root: string | undefined;
  /** What was made durable here already: a release fsyncs only the links of its chain that are not. */
  private readonly durable = new DurableChains();
  /** Checkpoints waiting to start (paced): each resolved by the release that lets it, or by its bound. */
  private readonly pacing = new Set<() => void>();
  /** Completed checkpoints not yet released, oldest first (only whether there is more than one matters: capped). */
  private readonly unacked: number[] = [];
  /** output_commit.degrade_after, when in force; degraded: set by it while output goes out unacknowledged. */
  degrade: Degrade | undefined;
  degraded = false;

  constructor(
    readonly gate: OutputGate,
    readonly releaseAfter: ReleaseAfter,
    private readonly events: OutputCommitEvents = {},
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Whether dumps run under remusd's lossless network lock (so CRIU's own may be skipped). */
  get holdsInbound(): boolean {
    return this.gate.inbound !== undefined;
  }

  async beforeDump(seq: number): Promise<void> {
    // The previous barrier's checkpoint never completed: it failed, and nothing will release its epoch alone.
    if (this.lastBarrier !== undefined && this.lastBarrier !== this.lastCompleted)
      await this.gate.abandon(this.lastBarrier);
    this.lastBarrier = seq;
    const closed = await this.gate.barrier(seq);
    this.barriers.set(seq, { atMs: this.now(), packets: closed.packets, bytes: closed.bytes });
    if (this.gate.inbound !== undefined) {
      await this.gate.inbound.hold();
      this.inboundHeld = true;
    }
  }

  async afterDump(): Promise<void> {
    if (!this.inboundHeld || this.gate.inbound === undefined) return;
    this.inboundHeld = false;
    this.lastInput = (await this.gate.inbound.release()).packets;
  }

  async afterCheckpoint(seq: number, root: string, dir: string): Promise<OutputRecordFields> {
    this.lastCompleted = seq;
    if (this.releasedSeq === undefined || seq > this.releasedSeq) this.unacked.push(seq);
    if (this.unacked.length > 64) this.unacked.shift();
    this.root = root;
    const epoch = this.barriers.get(seq) ?? { packets: 0, bytes: 0 }; // read before the release forgets it
    if (this.releaseAfter === 'fsync') await this.releaseLocally(seq, root, dir);
    else this.degrade?.completed(seq, root, dir);
    return this.recordFields(epoch);
  }

  /**
   * Remus' pacing: with the backup's ack releasing the output, checkpoint N+1 waits until at most one completed
   * checkpoint (N, being shipped) awaits the ack. Unpaced, a shipper slower than the checkpoints fell 3.5-5 s
   * behind and released output every ~7 s (README, "When shipping is slower than checkpointing"): each epoch's
   * output then waited for a queue of shipments, not for one. boundMs keeps a silent shipper from stopping
   * the checkpoints (degrade_after decides about the output); degraded, the output goes out without the ack.
   */
  paced(boundMs: number): Promise<void> | undefined {
    if (!awaitsAck(this.releaseAfter, this.degraded, this.unacked.length)) return undefined;
    const startedMs = this.now();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.pacing.delete(done);
        const waitedMs = this.now() - startedMs;
        this.pacedSinceRecordMs += waitedMs;
        this.pacedTotals = { checkpoints: this.pacedTotals.checkpoints + 1, ms: this.pacedTotals.ms + waitedMs };
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, boundMs));
      this.pacing.add(done);
    });
  }

  /** Checkpoint seq is safe (the backup acknowledged it): release every epoch up to it. */
  async releaseAcked(seq: number): Promise<EpochReleased> {
    const released = await this.release(seq);
    this.degrade?.acked(seq, this.root);
    return released;
  }

  /**
   * Makes checkpoint seq durable here, with every delta parent it restores from, and releases every epoch up
   * to it (release_after fsync, or degraded).
   */
  async releaseLocally(seq: number, root: string, dir: string): Promise<EpochReleased> {
    await this.durable.sync(root, dir);
    return this.release(seq);
  }

  /** The newest epoch released so far. */
  get releasedThrough(): number | undefined {
    return this.releasedSeq;
  }

  summary(): OutputSummary {
    const sorted = [...this.releaseTimes].sort((a, b) => a - b);
    const at = (q: number) =>
      sorted.length === 0 ? undefined : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
    return {
      ...this.totals,
      holdP50Ms: quantileMs(this.holds, 0.5),
      holdP99Ms: quantileMs(this.holds, 0.99),
      releaseP50Ms: at(0.5),
      releaseP99Ms: at(0.99),
      pacedCheckpoints: this.pacedTotals.checkpoints,
      pacedMs: this.pacedTotals.ms,
    };
  }

  /** A clean stop: release everything and remove the gate (the workload's output flows unprotected). */
  async stop(): Promise<void> {
    await this.releasing;
    await this.gate.open();
  }

  private release(seq: number): Promise<EpochReleased> {
    // One release at a time, in the order asked (the gate answers in order anyway).
    const done = this.releasing.then(async (): Promise<EpochReleased> => {
      // Releases are cumulative: a late ack for an epoch a degraded release let out already has nothing left.
      if (this.releasedSeq !== undefined && seq <= this.releasedSeq)
        return { epoch: seq, packets: 0, bytes: 0, dropped: 0, holds: new Map() };
      const released = await this.gate.release(seq);
      this.releasedSeq = seq;
      while ((this.unacked[0] ?? Number.POSITIVE_INFINITY) <= seq) this.unacked.shift();
      for (const waiter of this.pacing) if (!awaitsAck(this.releaseAfter, this.degraded, this.unacked.length)) waiter();
      const barrier = this.barriers.get(seq);
      for (const epoch of this.barriers.keys()) if (epoch <= seq) this.barriers.delete(epoch);
      mergeInto(this.sinceRecord, released.holds);
      mergeInto(this.holds, released.holds);
      this.droppedSinceRecord += released.dropped;
      this.totals = {
        packets: this.totals.packets + released.packets,
        bytes: this.totals.bytes + released.bytes,
        dropped: this.totals.dropped + released.dropped,
      };
      if (barrier !== undefined) {
        const releaseMs = this.now() - barrier.atMs;
        this.lastReleased = { epoch: seq, releaseMs };
        this.releaseTimes.push(releaseMs);
        if (this.releaseTimes.length > 100_000) this.releaseTimes.splice(0, 50_000); // bounded over a long run
        this.events.released?.(released, releaseMs);
      }
      return released;
    });
    this.releasing = done.catch(() => undefined);
    return done;
  }

  private recordFields(epoch: { packets: number; bytes: number }): OutputRecordFields {
    const fields: OutputRecordFields = {
      output_packets: epoch.packets,
      output_bytes: epoch.bytes,
      released_through: this.lastReleased?.epoch ?? null,
      release_ms: this.lastReleased === undefined ? null : round(this.lastReleased.releaseMs),
      hold_p50_ms: nullable(quantileMs(this.sinceRecord, 0.5)),
      hold_p99_ms: nullable(quantileMs(this.sinceRecord, 0.99)),
      output_dropped: this.droppedSinceRecord,
      input_held: this.lastInput,
      degraded: this.degraded,
      paced_ms: round(this.pacedSinceRecordMs),
    };
    this.lastInput = null;
    this.pacedSinceRecordMs = 0;
    if (countOf(this.sinceRecord) > 0) this.sinceRecord.clear();
    this.droppedSinceRecord = 0;
    return fields;
  }
}

function nullable(value: number | undefined): number | null {
  return value === undefined ? null : round(value);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * Whether the next checkpoint must wait for the backup's ack: output released by it (not by the local fsync, and
 * not degraded), and more than one completed checkpoint not acknowledged yet (one may be in the shipper's hands).
 */
export function awaitsAck(releaseAfter: ReleaseAfter, degraded: boolean, unacknowledged: number): boolean {
  return releaseAfter === 'backup-ack' && !degraded && unacknowledged > 1;
}
