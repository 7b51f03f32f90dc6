// Three "hosts" on one machine for the partition tests: network namespaces P (primary), B (backup) and E (etcd),
// each pair joined by its own veth pair, so that any one link can be cut with `ip link set down`:
//
//   P 10.73.N.1 ─pb──bp─ 10.73.N.2 B      (replication: ship → backup)
//   P 10.73.M.1 ─pe──ep─ 10.73.M.2 E      (the primary's etcd link)
//   B 10.73.K.1 ─be──eb─ 10.73.K.2 E      (the backup's etcd link)
//
// N, M, K are unique per test run. remusd processes run "inside" a host with nsenter --net (never `ip netns exec`,
// which also unshares the mount namespace and breaks CRIU's dump).

import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll } from 'vitest';
import { packageRoot } from '../../src/paths.js';

const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');
let counter = 0;

export interface Hosts {
  ns: { primary: string; backup: string; etcd: string };
  /** The backup's address on the replication link, the etcd addresses as each host reaches them. */
  addr: { backup: string; etcdFromPrimary: string; etcdFromBackup: string };
  /** Takes a link down or up: 'pb' (primary–backup), 'pe' (primary–etcd), 'be' (backup–etcd). */
  link(which: 'pb' | 'pe' | 'be', up: boolean): Promise<void>;
  remove(): Promise<void>;
}

const made: Hosts[] = [];
afterAll(async () => {
  for (const hosts of made.splice(0)) await hosts.remove();
});

async function ip(args: string[]): Promise<void> {
  await execa('ip', args);
}

/** Creates the three namespaces and their links (subnets inside 10.73.0.0/16, unique per run). */
export async function makeHosts(): Promise<Hosts> {
  counter += 1;
  const tag = `${process.pid % 10000}x${counter}`;
  const ns = { primary: `rfP${tag}`, backup: `rfB${tag}`, etcd: `rfE${tag}` };
  const base = ((process.pid * 7 + counter * 3) % 80) * 3 + 10; // three /30-ish subnets 10.73.base..base+2
  const pb = `10.73.${base}`;
  const pe = `10.73.${base + 1}`;
  const be = `10.73.${base + 2}`;
  for (const name of Object.values(ns)) await ip(['netns', 'add', name]);
  const pair = async (a: string, aIf: string, b: string, bIf: string, subnet: string) => {
    await ip(['link', 'add', aIf, 'netns', a, 'type', 'veth', 'peer', 'name', bIf, 'netns', b]);
    await ip(['-n', a, 'addr', 'add', `${subnet}.1/24`, 'dev', aIf]);
    await ip(['-n', b, 'addr', 'add', `${subnet}.2/24`, 'dev', bIf]);
    await ip(['-n', a, 'link', 'set', aIf, 'up']);
    await ip(['-n', b, 'link', 'set', bIf, 'up']);
  };
  for (const name of Object.values(ns)) await ip(['-n', name, 'link', 'set', 'lo', 'up']);
  await pair(ns.primary, 'pb', ns.backup, 'bp', pb);
  await pair(ns.primary, 'pe', ns.etcd, 'ep', pe);
  await pair(ns.backup, 'be', ns.etcd, 'eb', be);
  const hosts: Hosts = {
    ns,
    addr: { backup: `${pb}.2`, etcdFromPrimary: `${pe}.2`, etcdFromBackup: `${be}.2` },
    link: async (which, up) => {
      const where = { pb: [ns.primary, 'pb'], pe: [ns.primary, 'pe'], be: [ns.backup, 'be'] }[which];
      await ip(['-n', where[0]!, 'link', 'set', where[1]!, up ? 'up' : 'down']);
    },
    remove: async () => {
      for (const name of Object.values(ns)) await execa('ip', ['netns', 'del', name], { reject: false });
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
  const child = execa('nsenter', [`--net=/run/netns/${ns}`, CLI, ...args], { reject: false, stdin: 'ignore', detached: true, cleanup: true });
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
