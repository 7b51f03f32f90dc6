import { netnsPath } from './namespace.js';

/**
 * The command line that runs COMMAND inside the named network namespace: `nsenter --net=/run/netns/NAME --
 * COMMAND…`. nsenter enters only the network namespace and then execs COMMAND, so the pid is COMMAND's.
 * Not `ip netns exec`: it also unshares the mount namespace, and CRIU then refuses the dump ("has
 * unreachable sharing").
 */
export function inNamespace(
  namespace: string,
  command: string,
  args: readonly string[],
): { command: string; args: string[] } {
  return { command: 'nsenter', args: [`--net=${netnsPath(namespace)}`, '--', command, ...args] };
}
