// CRIU's options for a workload in its own network namespace (the config's `network` section).

/** The key that names the workload's network namespace in the images and at restore. */
export const NETNS_KEY = 'remusd-netns';

/**
 * Dump options for a workload in the network namespace with this inode: its TCP connections are dumped
 * (--tcp-established) under a network lock that needs no iptables binary (CRIU links libnftables; this
 * host has neither `iptables` nor `nft`, and the default iptables lock fails), and the namespace itself is
 * external: CRIU records it as KEY instead of dumping it, so a restore can put the workload into another one.
 */
export function networkDumpArgs(netnsInode: number): string[] {
  return ['--tcp-established', '--network-lock', 'nftables', '--external', `net[${netnsInode}]:${NETNS_KEY}`];
}

/**
 * Restore options that put the workload into the namespace open as descriptor `fd` of CRIU. No network
 * lock: the namespace is fresh and nothing else talks in it until the restored sockets are live.
 */
export function networkRestoreArgs(fd: number): string[] {
  return ['--tcp-established', '--network-lock', 'skip', '--inherit-fd', `fd[${fd}]:${NETNS_KEY}`];
}
