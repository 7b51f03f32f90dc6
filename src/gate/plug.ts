import { execa } from 'execa';
import { z } from 'zod';
import type { EpochClosed, EpochReleased, OutputGate } from './gate.js';
import { installRedirect, removeRedirect, tc } from './redirect.js';

export interface PlugGateOptions {
  /** The host-side end of the workload's veth: its ingress is the workload's output. */
  hostInterface: string;
  /** The plug qdisc's limit, in bytes. */
  maxHeldBytes: number;
}

// `tc -s -j qdisc show`: one object per qdisc, with its queue's counters (one left out counts as 0).
const qdiscStatsSchema = z.array(
  z.object({ qlen: z.number().optional(), backlog: z.number().optional(), drops: z.number().optional() }),
);

/** The IFB device a plug gate on `hostInterface` holds packets in (interface names have at most 15 characters). */
export function plugIfbName(hostInterface: string): string {
  return `${hostInterface.slice(0, 13)}.p`;
}

/**
 * The output gate on kernels with sch_plug, as xl remus builds it: the workload's output (the host-side veth's
 * ingress) is redirected into an IFB device whose root qdisc is a plug. `block` closes an epoch, `release`
 * (release_one) lets out the oldest closed one; IFB then hands each packet to the stack as received on the
 * veth. The plug remembers ONE closed epoch only (a second `block` overwrites the first's packet count), so
 * a barrier waits until the previous epoch is released: with backup-ack the next dump waits for the ack,
 * exactly as in Remus. When the previous epoch's checkpoint failed (abandon), no release will come for it:
 * the next barrier then leaves it closed without a second `block`, and its release lets the abandoned epoch
 * out; the packets sent in between stay in the open epoch and go with the next block (one epoch later than
 * they could, never earlier). The plug counts no per-epoch packets: barrier reads the backlog instead, and
 * there is no per-packet hold time (release latency is measured by the caller).
 */
export class PlugGate implements OutputGate {
  readonly mechanism = 'plug' as const;
  /** The plug gate holds no inbound packets: dumps keep CRIU's nftables lock. */
  readonly inbound = undefined;
  /** The closed epoch the plug holds, until released; abandoned: its checkpoint failed. */
  private outstanding: { epoch: number; released: Promise<void>; resolve: () => void; abandoned: boolean } | undefined;
  private lastBarrier = 0;

  private constructor(
    readonly ifb: string,
    readonly options: PlugGateOptions,
  ) {}

  static async start(options: PlugGateOptions): Promise<PlugGate> {
    const ifb = plugIfbName(options.hostInterface);
    // Where these are modules (Debian's kernels), load them: the kernel does not always do it on demand.
    await execa('modprobe', ['-qa', 'sch_plug', 'ifb', 'sch_ingress', 'cls_u32', 'act_mirred']).catch(() => undefined);
    await execa('ip', ['link', 'del', ifb]).catch(() => undefined); // a crashed run's plug, with what it held
    await execa('ip', ['link', 'add', ifb, 'type', 'ifb']);
    try {
      // A new plug holds everything until the first release: epoch 1 starts now.
      await tc(['qdisc', 'add', 'dev', ifb, 'root', 'plug', 'limit', String(options.maxHeldBytes)]);
      await execa('ip', ['link', 'set', 'dev', ifb, 'up']);
      await installRedirect(options.hostInterface, ifb);
    } catch (error) {
      await execa('ip', ['link', 'del', ifb]).catch(() => undefined);
      throw error;
    }
    return new PlugGate(ifb, options);
  }

  async barrier(epoch: number): Promise<EpochClosed> {
    if (epoch <= this.lastBarrier)
      throw new Error(`barrier ${epoch}: barriers must increase (last ${this.lastBarrier})`);
    const pending = this.outstanding;
    if (pending?.abandoned === true) {
      // A second block would overwrite the closed epoch's count and leave its packets behind for good.
      // Epoch `epoch` takes the abandoned one over: releasing it lets the closed packets out.
      this.outstanding = { ...pending, epoch, abandoned: false };
      this.lastBarrier = epoch;
      const backlog = await this.backlog();
      return { epoch, packets: backlog.packets, bytes: backlog.bytes };
    }
    await pending?.released;
    const backlog = await this.backlog();
    await tc(['qdisc', 'change', 'dev', this.ifb, 'root', 'plug', 'block']);
    let resolve = () => undefined as void;
    const released = new Promise<void>((r) => (resolve = r));
    this.outstanding = { epoch, released, resolve, abandoned: false };
    this.lastBarrier = epoch;
    return { epoch, packets: backlog.packets, bytes: backlog.bytes };
  }

  async abandon(epoch: number): Promise<void> {
    if (this.outstanding?.epoch === epoch) this.outstanding.abandoned = true;
  }

  async release(epoch: number): Promise<EpochReleased> {
    if (epoch > this.lastBarrier)
      throw new Error(`release ${epoch}: no barrier ${epoch} yet (last ${this.lastBarrier})`);
    const pending = this.outstanding;
    if (pending === undefined || pending.epoch > epoch)
      return { epoch, packets: 0, bytes: 0, dropped: 0, holds: new Map() };
    const before = await this.backlog();
    await tc(['qdisc', 'change', 'dev', this.ifb, 'root', 'plug', 'release']);
    this.outstanding = undefined;
    pending.resolve();
    // The plug tells no per-epoch numbers: these are its whole backlog just before (the open epoch included).
    return { epoch, packets: before.packets, bytes: before.bytes, dropped: before.dropped, holds: new Map() };
  }

  async open(): Promise<void> {
    await tc(['qdisc', 'change', 'dev', this.ifb, 'root', 'plug', 'release_indefinite']);
    this.outstanding?.resolve();
    await removeRedirect(this.options.hostInterface);
    await execa('ip', ['link', 'del', this.ifb]).catch(() => undefined);
  }

  async destroy(): Promise<void> {
    this.outstanding?.resolve();
    await execa('ip', ['link', 'del', this.ifb]).catch(() => undefined); // held packets go with the device
  }

  // The plug's queue: what it holds now (one closed epoch plus the open one).
  private async backlog(): Promise<{ packets: number; bytes: number; dropped: number }> {
    const { stdout } = await execa('tc', ['-s', '-j', 'qdisc', 'show', 'dev', this.ifb, 'root']);
    const [q] = qdiscStatsSchema.parse(JSON.parse(stdout));
    return { packets: q?.qlen ?? 0, bytes: q?.backlog ?? 0, dropped: q?.drops ?? 0 };
  }
}
