import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { errorMessage } from '../fs/error-code.js';

// The tc plumbing of the TUN gate, in the host's network namespace. The workload's packets leave its
// namespace through its veth and arrive at the host-side end's ingress; a u32 match-all filter with a mirred
// action redirects every IPv4 and IPv6 packet from there into the gate's TUN device. ARP is left alone: it
// carries no workload state, and the veth needs it. IPv6's equivalent, neighbour discovery (ICMPv6 133-137),
// is IPv6 and would be redirected too, so a filter before the redirect lets it pass: held and then delivered
// from the TUN, the workload's neighbour advertisements reached the host on the wrong interface, the host
// never resolved the workload's address, and every IPv6 connection failed (EHOSTUNREACH). The filters use a
// fixed preference so that a restarted remusd replaces a crashed one's filters instead of stacking new ones.
//
// With the inbound hold (remusd's lossless network lock during dumps), the same kind of filter on the veth's
// EGRESS sends what the host transmits towards the workload into the helper's TAP device; the helper sends
// it on through a packet socket that bypasses this hook.

/** The filter preference the gate's filters use on the host-side veth. */
export const GATE_FILTER_PREF = { ip: 4901, ipv6: 4902 } as const;
/** The same for the inbound filters, on the veth's egress. */
export const INBOUND_FILTER_PREF = { ip: 4903, ipv6: 4904 } as const;
/** The filters that let the workload's IPv6 neighbour discovery past the gate, before its redirect. */
export const NDP_PASS_PREF = 4900;
/** ICMPv6 router solicitation/advertisement, neighbour solicitation/advertisement, redirect (RFC 4861). */
const NDP_TYPES = [133, 134, 135, 136, 137];

/** Sends the outbound packets arriving on `from` (the host-side veth) into the TUN device `tun`, and with `tap`, the inbound ones leaving through it into that TAP device. */
export async function installRedirect(from: string, tun: string, tap?: string): Promise<void> {
  // clsact gives the ingress and egress hooks without claiming the root qdisc (which the plug gate or a shaper may use).
  await tc(['qdisc', 'replace', 'dev', from, 'clsact']);
  await passNeighbourDiscovery(from);
  await redirectHook(from, 'ingress', GATE_FILTER_PREF, tun);
  if (tap !== undefined) await redirectHook(from, 'egress', INBOUND_FILTER_PREF, tap);
  // A crashed run's inbound redirect would point at its vanished TAP and drop all input: gone with it.
  else await removeHook(from, 'egress', INBOUND_FILTER_PREF);
}

async function removeHook(from: string, hook: 'ingress' | 'egress', prefs: Record<string, number>): Promise<void> {
  for (const pref of Object.values(prefs))
    await tc(['filter', 'del', 'dev', from, hook, 'pref', String(pref)]).catch(() => undefined);
}

/**
 * Lets ICMPv6 neighbour discovery arriving on `from` go up the host's stack directly. u32 reads the ICMPv6
 * type at offset 40, right after the fixed header, where RFC 4861 puts it (hop limit 255, no extension
 * headers). A match with a class id and no action ends the classification with TC_ACT_OK: the packet goes
 * on, and the redirect after it never sees it (this kernel has no gact module for `action ok`).
 */
async function passNeighbourDiscovery(from: string): Promise<void> {
  await tc(['filter', 'del', 'dev', from, 'ingress', 'pref', String(NDP_PASS_PREF)]).catch(() => undefined);
  for (const type of NDP_TYPES)
    await tc(
      ['filter', 'add', 'dev', from, 'ingress', 'pref', String(NDP_PASS_PREF), 'protocol', 'ipv6', 'u32'].concat([
        'match',
        'ip6',
        'protocol',
        '58',
        '0xff',
        'match',
        'u8',
        String(type),
        '0xff',
        'at',
        '40',
        'classid',
        '1:1',
      ]),
    );
}

async function redirectHook(
  from: string,
  hook: 'ingress' | 'egress',
  prefs: Record<string, number>,
  into: string,
): Promise<void> {
  for (const [protocol, pref] of Object.entries(prefs)) {
    await tc(['filter', 'del', 'dev', from, hook, 'pref', String(pref)]).catch(() => undefined);
    await tc([
      'filter',
      'add',
      'dev',
      from,
      hook,
      'pref',
      String(pref),
      'protocol',
      protocol,
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'action',
      'mirred',
      'egress',
      'redirect',
      'dev',
      into,
    ]);
  }
}

/** Removes the redirects: packets arriving on `from` go up the host's stack directly again, and those for the workload straight to it. */
export async function removeRedirect(from: string): Promise<void> {
  await removeHook(from, 'ingress', GATE_FILTER_PREF);
  await removeHook(from, 'ingress', { ndp: NDP_PASS_PREF });
  await removeHook(from, 'egress', INBOUND_FILTER_PREF);
}

/** Brings the inbound TAP device up as a pure conduit: no IPv6 (the host would send its own packets into it). */
export async function prepareTap(tap: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${tap}/disable_ipv6`, '1').catch(() => undefined);
  await execa('ip', ['link', 'set', 'dev', tap, 'up']);
}

/** Inbound frames the kernel dropped at the TAP's queue (full during a hold), from its statistics. */
export async function tapDrops(tap: string): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  return Number((await readFile(`/sys/class/net/${tap}/statistics/tx_dropped`, 'utf8')).trim());
}

/**
 * Brings the TUN device up as a pure conduit: IPv6 on but without addresses (addr_gen_mode 1: no link-local
 * address, so the host sends no router solicitations or MLD reports into it; with IPv6 disabled on the TUN,
 * as before, the host dropped every released IPv6 packet), and no reverse-path filter (released packets
 * carry the workload's address, whose route points at the veth, not at the TUN: a strict rp_filter would
 * drop every one of them).
 */
export async function prepareTun(tun: string): Promise<void> {
  await writeFile(`/proc/sys/net/ipv6/conf/${tun}/addr_gen_mode`, '1').catch(() => undefined); // IPv6 may be off entirely
  await writeFile(`/proc/sys/net/ipv4/conf/${tun}/rp_filter`, '0');
  await execa('ip', ['link', 'set', 'dev', tun, 'up']);
}

/** The effective rp_filter is the larger of `all` and the device's: strict (1) on `all` breaks the gate. */
export async function rpFilterProblem(): Promise<string | undefined> {
  const { readFile } = await import('node:fs/promises');
  const all = (await readFile('/proc/sys/net/ipv4/conf/all/rp_filter', 'utf8').catch(() => '0')).trim();
  return all === '1'
    ? 'net.ipv4.conf.all.rp_filter is 1 (strict): the host would drop every released packet; set it to 0 or 2 (loose)'
    : undefined;
}

/** Runs tc; a failure names the command and tc's own message. */
export async function tc(args: string[]): Promise<void> {
  try {
    await execa('tc', args);
  } catch (error) {
    const stderr =
      typeof error === 'object' && error !== null && 'stderr' in error && typeof error.stderr === 'string'
        ? error.stderr.trim()
        : '';
    const detail = stderr || errorMessage(error);
    throw new Error(`tc ${args.join(' ')}: ${detail}`);
  }
}
