// Three "hosts" on one machine for the partition tests: network namespaces P (primary), B (backup) and E (etcd),
// each pair joined by its own veth pair, so that any one link can be cut with `ip link set down`; the machine's
// own namespace is the client, joined to P and to B (both forward to the workload behind them):
//
//   P 10.103.N.1 ─pb──bp─ 10.103.N.2 B      (replication: ship → backup)
//   P 10.103.N+1.1 ─pe──ep─ .2 E            (the primary's etcd link)
//   B 10.103.N+2.1 ─be──eb─ .2 E            (the backup's etcd link)
//   client 10.103.N+3.1 ─fc…p──cp─ .2 P     (the client's link to the primary host)
//   client 10.103.N+4.1 ─fc…b──cb─ .2 B     (the client's link to the backup host)
//   10.103.N+5.0/24: the service's own subnet (the workload's namespace behind P, or behind B after a failover)
//
// N is unique per test run. remusd processes run "inside" a host with nsenter --net (never `ip netns exec`,
// which also unshares the mount namespace and breaks CRIU's dump).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
/** The /16 the hosts' links use (REMUSD_FENCE_NET, default 10.103: one that nothing else on a CI machine uses). */
export const FENCE_NET = process.env.REMUSD_FENCE_NET ?? '10.103';
let counter = 0;

type Link = 'pb' | 'pe' | 'be' | 'cp' | 'cb';

export interface Hosts {
  ns: { primary: string; backup: string; etcd: string };
  /** The backup's address on the replication link, the etcd addresses as each host reaches them. */
  addr: { backup: string; etcdFromPrimary: string; etcdFromBackup: string };
  /** The third octet of the service's own /24 (10.103.<service>.0/24), free for the workload's namespaces. */
  serviceSubnet: number;
  /** Takes a link down or up: 'pb' (primary–backup), 'pe' (primary–etcd), 'be' (backup–etcd), 'cp'/'cb' (client–primary/backup). */
  link(which: Link, up: boolean): Promise<void>;
  /** Points this machine's (the client's) route for address at the primary or the backup host. */
  routeClient(address: string, to: 'primary' | 'backup'): Promise<void>;
  /** Packets this machine received so far from the primary or the backup host (its end of their link). */
  rxPackets(from: 'primary' | 'backup'): number;
  remove(): Promise<void>;
}

const made: Hosts[] = [];
afterAll(async () => {
  for (const hosts of made.splice(0)) await hosts.remove();
});

async function ip(args: string[]): Promise<void> {
  await execa('ip', args);
}

/** Creates the three namespaces, their links and the client's links (subnets in 10.103.0.0/16, unique per run). */
export async function makeHosts(): Promise<Hosts> {
  counter += 1;
  const tag = `${process.pid % 10000}x${counter}`;
  const ns = { primary: `rfP${tag}`, backup: `rfB${tag}`, etcd: `rfE${tag}` };
  const base = ((process.pid * 7 + counter * 3) % 40) * 6 + 10; // six /24s: 10.103.base … base+5
  const [pb, pe, be, cp, cb] = [0, 1, 2, 3, 4].map((i) => `${FENCE_NET}.${base + i}`) as [
    string,
    string,
    string,
    string,
    string,
  ];
  const clientIf = { primary: `fc${tag}p`, backup: `fc${tag}b` };
  for (const name of Object.values(ns)) await ip(['netns', 'add', name]);
  const pair = async (a: string | undefined, aIf: string, b: string, bIf: string, subnet: string) => {
    const inA = a === undefined ? [] : ['-n', a];
    await ip([
      ...inA,
      'link',
      'add',
      aIf,
      ...(a === undefined ? [] : ['netns', a]),
      'type',
      'veth',
      'peer',
      'name',
      bIf,
      'netns',
      b,
    ]);
    // No IPv6: its neighbour discovery would add packets to the client's per-link counts.
    for (const [where, dev] of [
      [a, aIf],
      [b, bIf],
    ] as const) {
      await execa('nsenter', [
        ...(where === undefined ? [] : [`--net=/run/netns/${where}`]),
        'sysctl',
        '-qw',
        `net.ipv6.conf.${dev}.disable_ipv6=1`,
      ]);
    }
    await ip([...inA, 'addr', 'add', `${subnet}.1/24`, 'dev', aIf]);
    await ip(['-n', b, 'addr', 'add', `${subnet}.2/24`, 'dev', bIf]);
    await ip([...inA, 'link', 'set', aIf, 'up']);
    await ip(['-n', b, 'link', 'set', bIf, 'up']);
  };
  for (const name of Object.values(ns)) await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  await pair(ns.primary, 'pb', ns.backup, 'bp', pb);
  await pair(ns.primary, 'pe', ns.etcd, 'ep', pe);
  await pair(ns.backup, 'be', ns.etcd, 'eb', be);
  await pair(undefined, clientIf.primary, ns.primary, 'cp', cp);
  await pair(undefined, clientIf.backup, ns.backup, 'cb', cb);
  // Static neighbours on the client's links: no ARP, so that the only packets the client receives from a host
  // are the IP packets it forwards (the per-link counts attribute each reply to a server).
  const mac = async (where: string | undefined, dev: string) =>
    (
      JSON.parse(
        (await execa('ip', [...(where === undefined ? [] : ['-n', where]), '-j', 'link', 'show', dev])).stdout,
      ) as { address: string }[]
    )[0]!.address;
  for (const [host, hostIf, clientSide, subnet] of [
    [ns.primary, 'cp', clientIf.primary, cp],
    [ns.backup, 'cb', clientIf.backup, cb],
  ] as const) {
    await ip([
      'neigh',
      'replace',
      `${subnet}.2`,
      'lladdr',
      await mac(host, hostIf),
      'dev',
      clientSide,
      'nud',
      'permanent',
    ]);
    await ip([
      '-n',
      host,
      'neigh',
      'replace',
      `${subnet}.1`,
      'lladdr',
      await mac(undefined, clientSide),
      'dev',
      hostIf,
      'nud',
      'permanent',
    ]);
  }
  // Both hosts route between the client and the workload's namespace behind them, and back to either of the
  // client's addresses: a connection opened through the primary keeps its source address after a failover.
  for (const host of [ns.primary, ns.backup])
    await execa('nsenter', [`--net=/run/netns/${host}`, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  await ip(['-n', ns.primary, 'route', 'add', `${cb}.0/24`, 'via', `${cp}.1`]);
  await ip(['-n', ns.backup, 'route', 'add', `${cp}.0/24`, 'via', `${cb}.1`]);
  const hosts: Hosts = {
    ns,
    addr: { backup: `${pb}.2`, etcdFromPrimary: `${pe}.2`, etcdFromBackup: `${be}.2` },
    serviceSubnet: base + 5,
    link: async (which, up) => {
      const where = {
        pb: [ns.primary, 'pb'],
        pe: [ns.primary, 'pe'],
        be: [ns.backup, 'be'],
        cp: [ns.primary, 'cp'],
        cb: [ns.backup, 'cb'],
      }[which];
      await ip(['-n', where[0]!, 'link', 'set', where[1]!, up ? 'up' : 'down']);
    },
    routeClient: async (address, to) => {
      await ip([
        'route',
        'replace',
        `${address}/32`,
        'via',
        to === 'primary' ? `${cp}.2` : `${cb}.2`,
        'dev',
        clientIf[to],
      ]);
    },
    rxPackets: (from) => Number(readFileSync(`/sys/class/net/${clientIf[from]}/statistics/rx_packets`, 'utf8')),
    remove: async () => {
      // Deleting a namespace deletes its veths, and with them this machine's ends and the client's routes.
      for (const name of Object.values(ns)) await execa('ip', ['netns', 'del', name], { reject: false });
      for (const name of Object.values(clientIf)) await execa('ip', ['link', 'del', name], { reject: false });
    },
  };
  made.push(hosts);
  return hosts;
}

/** A remusd CLI process running inside a host's network namespace. */
export interface HostDaemon {
  process: ResultPromise;
  out: () => string;
  log: () => string;
}

const daemons: ResultPromise[] = [];

/** Starts `remusd ARGS…` in namespace ns (nsenter execs it: the pid is remusd's own). */
export function inHost(ns: string, args: string[]): HostDaemon {
  const child = execa('nsenter', [`--net=/run/netns/${ns}`, CLI, ...args], {
    reject: false,
    stdin: 'ignore',
    detached: true,
    cleanup: true,
  });
  daemons.push(child);
  let out = '';
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  return { process: child, out: () => out, log: () => log };
}

/** SIGKILLs every remusd started with inHost since the last call. */
export async function stopHostDaemons(): Promise<void> {
  for (const child of daemons.splice(0)) {
    child.kill('SIGKILL');
    await child;
  }
}
