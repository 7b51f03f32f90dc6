// A failover's network side (the `network` section given to `remusd failover` or `remusd backup`): the
// restore gets a namespace of its own with the service address (on one machine, the "backup host"), CRIU
// puts the workload into it through an inherited descriptor, and only after the restore succeeded does the
// host's route to the service address move to its veth.

import { closeSync, openSync } from 'node:fs';
import type { NetworkConfig } from '../model/network.js';
import { closeServiceNetwork, freshServiceNetwork, routeToServiceNetwork, type NetworkLog } from '../net/index.js';

/** What a failover did with the network, for its report. */
export interface RestoredNetwork {
  namespace: string;
  address: string;
  host_interface: string;
  /** created, or replaced (a leftover with no process inside). */
  origin: string;
  /** From the restore's end to the route pointing at this namespace. */
  route_ms: number;
}

/** A fresh namespace, open for CRIU (its descriptor), until the restore is done. */
export interface RestoreNetwork {
  /** An open descriptor of /run/netns/NAME for CRIU's --inherit-fd. */
  fd: number;
  /** After a successful restore: the route moves here; the descriptor is closed. */
  takeOver(): Promise<RestoredNetwork>;
  /** After a failed restore: the descriptor is closed and the namespace removed. */
  discard(): Promise<void>;
}

/** Creates the restore's namespace (a leftover with nothing inside is replaced) and opens it for CRIU. */
export async function prepareRestoreNetwork(config: NetworkConfig, log: NetworkLog): Promise<RestoreNetwork> {
  const network = await freshServiceNetwork(config, log);
  const fd = openSync(network.path, 'r');
  let open = true;
  const closeFd = () => {
    if (open) closeSync(fd);
    open = false;
  };
  return {
    fd,
    async takeOver() {
      closeFd();
      const since = performance.now();
      await routeToServiceNetwork(config);
      return {
        namespace: config.namespace,
        address: config.address.address,
        host_interface: config.hostInterface,
        origin: network.origin,
        route_ms: Math.round(performance.now() - since),
      };
    },
    async discard() {
      closeFd();
      await closeServiceNetwork(config);
    },
  };
}
