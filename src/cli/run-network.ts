// `remusd run` with a `network` section: the workload's namespace is made ready before the workload (and
// the output gate, which sits on its veth) starts, its dumps carry CRIU's network options, and the
// namespace is removed once the workload is gone.

import type { Logger } from 'pino';
import { networkDumpArgs, type DumpNetworkLock } from '../criu/network.js';
import type { NetworkConfig } from '../model/network.js';
import {
  closeServiceNetwork,
  inNamespace,
  namespaceInode,
  openServiceNetwork,
  processNamespaceInode,
  routeToServiceNetwork,
} from '../net/index.js';
import { namespaceState } from '../net/namespace.js';
import { usageError } from './errors.js';

/** The network side of one `remusd run`. */
export interface RunNetwork {
  /** CRIU options every dump adds (src/criu/network.ts), with the network lock remusd's gate leaves to CRIU or takes on. */
  dumpArgs(lock: DumpNetworkLock): readonly string[];
  /** The command line that starts the workload inside the namespace. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
  /** Removes the namespace and veth if remusd made them and nothing runs inside any more; logs what it did. */
  close(): Promise<void>;
}

/**
 * For a command: the namespace is opened (created, or reused with a log line) and the host's route to the
 * service address points at its veth. For --pid: the process must already be in the namespace, which is
 * then left as it is (remusd attaches; it did not set the network up).
 */
export async function prepareRunNetwork(
  config: NetworkConfig,
  workload: { pid: number } | { command: string },
  log: Logger,
): Promise<RunNetwork> {
  const where = `network namespace ${config.namespace}`;
  let inode: number;
  if ('pid' in workload) {
    if ((await namespaceState(config.namespace)) !== 'live') {
      throw usageError(
        `network.namespace ${config.namespace} does not exist, so --pid ${workload.pid} cannot be in it; start the workload with \`remusd run --config … -- CMD\` (which creates it), or fix network.namespace`,
      );
    }
    inode = await namespaceInode(config.namespace);
    const actual = await processNamespaceInode(workload.pid);
    if (actual !== inode) {
      throw usageError(
        `--pid ${workload.pid} is not in ${where} (its network namespace is inode ${actual}, ${config.namespace} is ${inode}); attach to the process inside it`,
      );
    }
    log.info(`workload ${workload.pid} is in ${where} (inode ${inode})`);
  } else {
    const network = await openServiceNetwork(config, { info: (message) => log.info(message) });
    await routeToServiceNetwork(config);
    inode = network.inode;
    log.info(
      `${where} ${network.origin} (inode ${inode}): ${config.address.address}/${config.address.prefixLength} inside, ` +
        `host side ${config.hostInterface} ${config.hostAddress}; route ${config.address.address}/32 via ${config.hostInterface}`,
    );
  }
  return {
    dumpArgs: (lock) => networkDumpArgs(inode, lock),
    wrap: (command, args) => inNamespace(config.namespace, command, args),
    async close() {
      const closed = await closeServiceNetwork(config);
      log.info(closed.removed ? `${where} and its veth removed: ${closed.why}` : `${where} kept: ${closed.why}`);
    },
  };
}
