// The workload's network namespace as the config's `network` section describes it: a named namespace with
// one veth pair to the host. Inside: NAMESPACE_INTERFACE with the service address, a default route via the
// host side. On the host: the host side with the host address as a /32, and a /32 route for the service
// address. Used by `remusd run` (open), and by restores (fresh) that then take the route over.

import type { NetworkConfig } from '../model/network.js';
import { ipIn, NetError } from './ip.js';
import { addressAndUp, createVethPair, deleteLink, isVethPair, linkInfo } from './link.js';
import {
  createdByRemusd,
  createNamespace,
  deleteNamespace,
  namespaceInode,
  namespaceState,
  netnsPath,
  processesInNamespace,
} from './namespace.js';
import { routeServiceAddress } from './route.js';

/** The veth end inside the namespace: every namespace has its own, so one fixed name serves all. */
export const NAMESPACE_INTERFACE = 'eth0';

/** A namespace ready for the workload. */
export interface ServiceNetwork {
  config: NetworkConfig;
  /** /run/netns/NAME */
  path: string;
  /** What CRIU's --external net[INODE] names. */
  inode: number;
  /** created: it did not exist; reused: it existed (missing pieces were added); replaced: a leftover was removed first. */
  origin: 'created' | 'reused' | 'replaced';
}

/** Where service-network writes what it did with a namespace that was there already. */
export interface NetworkLog {
  info(message: string): void;
}

/**
 * The namespace for a workload about to be started: created unless it exists. An existing one (made by an
 * operator, or left by a crashed remusd) is reused, with a log line, and whatever piece is missing is added.
 */
export async function openServiceNetwork(config: NetworkConfig, log: NetworkLog): Promise<ServiceNetwork> {
  const state = await namespaceState(config.namespace);
  if (state === 'stale') await deleteNamespace(config.namespace);
  if (state === 'live') log.info(`network namespace ${config.namespace} exists already: reusing it`);
  else await createNamespace(config.namespace);
  await configure(config);
  return describe(config, state === 'live' ? 'reused' : 'created');
}

/**
 * A namespace of the restore's own, fresh: a restored TCP socket cannot bind where the dead one lingers.
 * A leftover with no process inside is replaced, with a log line; one with processes inside is an error,
 * because a workload still runs there.
 */
export async function freshServiceNetwork(config: NetworkConfig, log: NetworkLog): Promise<ServiceNetwork> {
  const state = await namespaceState(config.namespace);
  if (state === 'live') {
    const inside = await processesInNamespace(await namespaceInode(config.namespace));
    if (inside.length > 0) {
      throw new NetError(
        `network namespace ${config.namespace} still has processes (${inside.slice(0, 5).join(', ')}): a workload runs there, ` +
          'so a restore must not replace it; stop them, or give network.namespace another name',
      );
    }
    log.info(`network namespace ${config.namespace} is a leftover with no process inside: replacing it`);
  }
  if (state !== 'absent') await removeNamespaceAndVeth(config);
  await createNamespace(config.namespace);
  await configure(config);
  return describe(config, state === 'absent' ? 'created' : 'replaced');
}

/** Routes the service address on the host to this namespace's veth (a failover's last step). */
export async function routeToServiceNetwork(config: NetworkConfig): Promise<void> {
  await routeServiceAddress(config.address.address, config.hostInterface, config.hostAddress);
}

/**
 * Removes the namespace and its veth when remusd created them and no process is inside any more; otherwise
 * leaves them and says why.
 */
export async function closeServiceNetwork(config: NetworkConfig): Promise<{ removed: boolean; why: string }> {
  const state = await namespaceState(config.namespace);
  if (state === 'absent') return { removed: false, why: 'it is gone already' };
  if (state === 'live') {
    if (!(await createdByRemusd(config.namespace))) return { removed: false, why: 'remusd did not create it' };
    const inside = await processesInNamespace(await namespaceInode(config.namespace));
    if (inside.length > 0)
      return { removed: false, why: `processes still run in it (${inside.slice(0, 5).join(', ')})` };
  }
  await removeNamespaceAndVeth(config);
  return { removed: true, why: 'its workload is gone' };
}

async function removeNamespaceAndVeth(config: NetworkConfig): Promise<void> {
  // Only a host interface that is this namespace's veth: an unrelated one of the same name is not ours.
  if (await isVethPair(config.hostInterface, config.namespace, NAMESPACE_INTERFACE))
    await deleteLink(config.hostInterface);
  await deleteNamespace(config.namespace);
}

// Adds what is missing: the veth pair, the addresses, the links up, the default route inside. Idempotent.
async function configure(config: NetworkConfig): Promise<void> {
  const { namespace, hostInterface, address, hostAddress } = config;
  if (!(await isVethPair(hostInterface, namespace, NAMESPACE_INTERFACE))) {
    if ((await linkInfo(hostInterface)) !== undefined) {
      throw new NetError(
        `the host already has an interface ${hostInterface} that is not the veth of namespace ${namespace}; ` +
          `remove it (ip link del ${hostInterface}) if it is a leftover, or set network.host_interface to another name`,
      );
    }
    if ((await linkInfo(NAMESPACE_INTERFACE, namespace)) !== undefined) {
      throw new NetError(
        `namespace ${namespace} has an interface ${NAMESPACE_INTERFACE} that is not a veth to the host; remove it or use another namespace`,
      );
    }
    await createVethPair(hostInterface, namespace, NAMESPACE_INTERFACE);
  }
  await addressAndUp(hostInterface, `${hostAddress}/32`);
  await addressAndUp(NAMESPACE_INTERFACE, `${address.address}/${address.prefixLength}`, namespace);
  await ipIn(namespace, ['route', 'replace', 'default', 'via', hostAddress, 'dev', NAMESPACE_INTERFACE]);
}

async function describe(config: NetworkConfig, origin: ServiceNetwork['origin']): Promise<ServiceNetwork> {
  return { config, path: netnsPath(config.namespace), inode: await namespaceInode(config.namespace), origin };
}
