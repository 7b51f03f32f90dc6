// CRIU's options for a workload in its own network namespace (the config's `network` section).

/** The key that names the workload's network namespace in the images and at restore. */
export const NETNS_KEY = 'remusd-netns';

/** Who keeps the workload's network still while CRIU dumps its TCP sockets (see networkDumpArgs). */
export type DumpNetworkLock = 'nftables' | 'skip';

/**
 * Dump options for a workload in the network namespace with this inode: its TCP connections are dumped
 * (--tcp-established) under a network lock, and the namespace itself is external: CRIU records it as KEY
 * instead of dumping it, so a restore can put the workload into another one.
 *
 * --skip-in-flight: a connection the kernel has completed but the workload has not yet accepted (it waits in
 * a listening socket's queue) cannot be dumped, and without this option CRIU fails the WHOLE dump on it
 * ("In-flight connection"). A server that clients keep connecting to then loses checkpoints at random: redis
 * with 8 clients each opening a connection per INCR (~210 connections/s) failed 16 of 50 dumps here. With it,
 * the checkpoint leaves such connections out; only a failover to that very checkpoint resets them, and their
 * client has had no reply on them (the workload never read the request), so output commit still holds: no
 * acknowledged result is lost (test/net/accept-queue.test.ts).
 * - `nftables`: CRIU's lock, which needs no iptables binary (CRIU links libnftables; this host has neither
 *   `iptables` nor `nft`, and the default iptables lock fails). It DROPS every packet during the dump.
 * - `skip`: remusd holds the namespace's traffic itself for the dump's length (src/gate/, the TUN gate's
 *   inbound hold), queueing instead of dropping. CRIU's documentation: with skip "the network must be locked
 *   externally to allow CRIU to dump TCP connections"; the README's output-commit section says why the hold
 *   is such a lock.
 */
export function networkDumpArgs(netnsInode: number, lock: DumpNetworkLock = 'nftables'): string[] {
  return [
    '--tcp-established',
    '--skip-in-flight',
    '--network-lock',
    lock,
    '--external',
    `net[${netnsInode}]:${NETNS_KEY}`,
  ];
}

/**
 * Restore options that put the workload into the namespace open as descriptor `fd` of CRIU. No network
 * lock: the namespace is fresh and nothing else talks in it until the restored sockets are live.
 */
export function networkRestoreArgs(fd: number): string[] {
  return ['--tcp-established', '--network-lock', 'skip', '--inherit-fd', `fd[${fd}]:${NETNS_KEY}`];
}
