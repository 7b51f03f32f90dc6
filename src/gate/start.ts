import type { Config } from '../config/schema.js';
import type { GateMechanism, OutputGate } from './gate.js';
import { TunGate } from './tun.js';

/** The mechanism `output_commit.mechanism` resolves to here, and why. */
export function chooseMechanism(
  setting: Config['outputCommit']['mechanism'],
  plug: { available: boolean; detail: string },
): { mechanism: GateMechanism; why: string } {
  if (setting === 'tun') return { mechanism: 'tun', why: 'output_commit.mechanism: tun' };
  if (setting === 'plug') {
    if (!plug.available)
      throw new Error(
        `output_commit.mechanism plug: the plug qdisc is not available here (${plug.detail}); use tun or auto`,
      );
    return { mechanism: 'plug', why: 'output_commit.mechanism: plug' };
  }
  return plug.available
    ? { mechanism: 'plug', why: `auto: the kernel's plug qdisc is available (${plug.detail})` }
    : { mechanism: 'tun', why: `auto: no plug qdisc (${plug.detail}); remusd's TUN gate holds the packets instead` };
}

/** The TUN device name for a gate on `hostInterface` (interface names have at most 15 characters). */
export function gateTunName(hostInterface: string): string {
  return `${hostInterface.slice(0, 13)}.g`;
}

/** The TAP device name for the inbound hold on `hostInterface`. */
export function gateTapName(hostInterface: string): string {
  return `${hostInterface.slice(0, 13)}.i`;
}

/**
 * Starts the output gate on the host-side interface of the workload's veth; with `holdInbound` (TUN gate
 * only), also remusd's lossless network lock (OutputGate.inbound).
 */
export async function startGate(
  mechanism: GateMechanism,
  hostInterface: string,
  maxHeldBytes: number,
  holdInbound = false,
): Promise<OutputGate> {
  if (mechanism === 'plug') {
    if (holdInbound) throw new Error('the plug gate cannot hold inbound packets; dumps use the nftables lock with it');
    const { PlugGate } = await import('./plug.js');
    return PlugGate.start({ hostInterface, maxHeldBytes });
  }
  return TunGate.start({
    hostInterface,
    tun: gateTunName(hostInterface),
    maxHeldBytes,
    inboundTap: holdInbound ? gateTapName(hostInterface) : undefined,
  });
}
