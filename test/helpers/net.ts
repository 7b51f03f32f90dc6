// Real network namespaces for tests (shared with the output-commit tests): unique names and subnets per
// run, and a cleanup that kills whatever still runs inside and removes namespaces, veths and routes.

import { execa, execaSync } from 'execa';
import { afterAll } from 'vitest';
import { plugIfbName } from '../../src/gate/plug.js';
import { processesInNamespace, namespaceInode, routeTo, type NetworkConfig } from '../../src/net/index.js';
import { parseIpv4Cidr } from '../../src/units/ipv4.js';
import { waitFor } from './wait.js';
import { killAndWait } from './workload.js';

export interface NetworkPlan {
  /** The primary's namespace ("the primary host"). */
  primary: NetworkConfig;
  /** The backup's own namespace with the same service address ("the backup host"). */
  backup: NetworkConfig;
}

let counter = 0;
const created: NetworkConfig[] = [];
const guardedSubnets: string[] = [];

// Metric of the guard routes: above the /32 service routes remusd adds (metric 0), so those win while they exist.
const GUARD_METRIC = '4242';

/**
 * An `unreachable` route for a test /24. Without it, a packet for the service address in the moments it
 * has no route (the primary host's link cut, before the backup routes it) follows the default route off
 * this machine: on CI a proxy there answered redis clients with "HTTP/1.1 400 Bad Request". With it such a
 * connect fails at once with EHOSTUNREACH, as a crashed host's would time out.
 */
function guardSubnet(subnet: string): void {
  execaSync('ip', ['route', 'replace', 'unreachable', subnet, 'metric', GUARD_METRIC]);
  guardedSubnets.push(subnet);
}

/**
 * Two namespace configs with one service address, named PREFIX<pid><n>p / …b (≤ 15 characters: they are
 * interface names too), in a /24 of the test's own /16 (`octets`, e.g. "10.71"): the third octet is `subnet`
 * when given, else it comes from the pid and a counter, so concurrent runs of the same file do not meet.
 * Removed after the test file.
 */
export function networkPlan(prefix: string, octets: string, subnet?: number): NetworkPlan {
  counter += 1;
  const id = `${prefix}${process.pid % 100000}${counter}`;
  if (id.length > 14) throw new Error(`namespace prefix ${prefix} too long for interface names (${id}p)`);
  const third = subnet ?? (process.pid * 7 + counter) % 254;
  const cidr = parseIpv4Cidr(`${octets}.${third}.2/24`);
  if (!cidr.ok) throw new Error(`bad test subnet ${octets}: ${cidr.error}`);
  const base = { address: cidr.value, hostAddress: `${octets}.${third}.1` };
  guardSubnet(`${octets}.${third}.0/24`);
  const primary = { ...base, namespace: `${id}p`, hostInterface: `${id}p` };
  const backup = { ...base, namespace: `${id}b`, hostInterface: `${id}b` };
  created.push(primary, backup);
  return { primary, backup };
}

/** The YAML `network:` section of a config. */
export function networkYaml(config: NetworkConfig): string {
  return (
    `network:\n  namespace: ${config.namespace}\n  address: ${config.address.address}/${config.address.prefixLength}\n` +
    `  host_address: ${config.hostAddress}\n  host_interface: ${config.hostInterface}\n`
  );
}

/** Kills every process inside the namespace (test workloads only: the names are this run's own). */
export async function killNamespaceProcesses(namespace: string): Promise<void> {
  const inode = await namespaceInode(namespace).catch(() => undefined);
  if (inode === undefined) return;
  await Promise.all((await processesInNamespace(inode)).map((pid) => killAndWait(pid)));
}

/**
 * Waits until the host routes the service address into this namespace (`remusd run` sets it up once it has
 * made the namespace). Send nothing to the address before: until then it follows the default route off this
 * machine.
 */
export async function routedInto(config: NetworkConfig, timeoutMs = 30_000): Promise<void> {
  const address = config.address.address;
  await waitFor(
    `the route to ${address} into ${config.namespace}`,
    async () => ((await routeTo(address).catch(() => undefined))?.dev === config.hostInterface ? true : undefined),
    timeoutMs,
    50,
  );
}

/** "The host crashed": its link goes down first, so the dying workload's FIN/RST never reaches a client. */
export async function cutLink(config: NetworkConfig): Promise<void> {
  await execa('ip', ['link', 'set', 'dev', config.hostInterface, 'down']);
}

/**
 * Removes every namespace and veth networkPlan() handed out (and kills what runs inside), and the IFB device
 * of a plug gate on it: a SIGKILLed `remusd run` leaves its plug behind, holding what it held (the TUN gate's
 * device dies with its helper).
 */
export async function removeTestNetworks(): Promise<void> {
  for (const config of created.splice(0)) {
    await killNamespaceProcesses(config.namespace);
    await execa('ip', ['link', 'del', 'dev', config.hostInterface], { reject: false });
    await execa('ip', ['link', 'del', 'dev', plugIfbName(config.hostInterface)], { reject: false });
    await execa('ip', ['netns', 'delete', config.namespace], { reject: false });
    await execa('rm', ['-f', `/run/remusd/netns/${config.namespace}`], { reject: false });
  }
  for (const subnet of guardedSubnets.splice(0))
    await execa('ip', ['route', 'del', 'unreachable', subnet, 'metric', GUARD_METRIC], { reject: false });
}

afterAll(removeTestNetworks);
