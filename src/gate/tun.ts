import type { EpochClosed, EpochReleased, InboundHold, InboundReleased, OutputGate } from './gate.js';
import { GateHelper } from './helper.js';
import { installRedirect, prepareTap, prepareTun, removeRedirect, rpFilterProblem, tapDrops } from './redirect.js';

export interface TunGateOptions {
  /** The host-side end of the workload's veth: its ingress is the workload's output. */
  hostInterface: string;
  /** The TUN device to create (at most 15 characters). */
  tun: string;
  /** Bound on held bytes; past it new packets are dropped (never released early). */
  maxHeldBytes: number;
  /** The TAP device for the inbound hold (remusd's lossless network lock); none: inbound is never touched. */
  inboundTap?: string | undefined;
  /**
   * GSO through the gate (default true): the TUN takes the workload's 64 KiB TCP packets whole. false: the
   * kernel segments them into MTU-sized packets before the gate (the gate before GSO; the tests' control).
   */
  offload?: boolean;
}

/**
 * The output gate for kernels without sch_plug: a helper process owns a TUN device, the workload's
 * outbound packets are redirected into it and held there per epoch (see src/gate/tun-gate.c).
 */
export class TunGate implements OutputGate {
  readonly mechanism = 'tun' as const;
  readonly inbound: InboundHold | undefined;
  private lastBarrier = 0;

  private constructor(
    private readonly helper: GateHelper,
    readonly options: TunGateOptions,
  ) {
    const tap = options.inboundTap;
    this.inbound =
      tap === undefined
        ? undefined
        : {
            hold: () => helper.hold(),
            release: async (): Promise<InboundReleased> => ({
              ...(await helper.unhold()),
              droppedTotal: await tapDrops(tap).catch(() => 0),
            }),
          };
  }

  /** Creates the TUN device and redirects the workload's output into it. */
  static async start(options: TunGateOptions): Promise<TunGate> {
    const problem = await rpFilterProblem();
    if (problem !== undefined) throw new Error(`the TUN output gate cannot work here: ${problem}`);
    const tap = options.inboundTap;
    const helper = await GateHelper.start(options.tun, options.maxHeldBytes, {
      inbound: tap === undefined ? undefined : { tap, to: options.hostInterface },
      offload: options.offload ?? true,
    });
    try {
      await prepareTun(options.tun);
      if (tap !== undefined) await prepareTap(tap);
      await installRedirect(options.hostInterface, options.tun, tap);
    } catch (error) {
      await helper.close();
      throw error;
    }
    return new TunGate(helper, options);
  }

  get helperPid(): number | undefined {
    return this.helper.pid;
  }

  /** The offloads the kernel took for the TUN: "csum,tso4,tso6,…" means GSO packets are held whole. */
  get offload(): string {
    return this.helper.offload;
  }

  async barrier(epoch: number): Promise<EpochClosed> {
    const closed = await this.helper.barrier(epoch);
    this.lastBarrier = epoch;
    return closed;
  }

  release(epoch: number): Promise<EpochReleased> {
    return this.helper.release(epoch);
  }

  /** Nothing to do: the helper keeps every closed epoch, and a later release lets this one out with it. */
  async abandon(_epoch: number): Promise<void> {}

  stats(): ReturnType<GateHelper['stats']> {
    return this.helper.stats();
  }

  async open(): Promise<void> {
    // Release what is held, take the redirects away, then release what slipped in meanwhile: packets stay in
    // order except for that last instant's few, which TCP reorders. Inbound is never left held (a hold lasts
    // one dump); frames still queued on the TAP go on before the helper, and its TAP, are gone.
    const final = this.lastBarrier + 1;
    if (this.inbound !== undefined) await this.helper.unhold();
    await this.helper.barrier(final);
    await this.helper.release(final);
    await removeRedirect(this.options.hostInterface);
    await this.helper.barrier(final + 1);
    await this.helper.release(final + 1);
    if (this.inbound !== undefined) await this.helper.unhold();
    await this.helper.close();
  }

  async destroy(): Promise<void> {
    await this.helper.close();
  }
}
