/** The config's `network` section, normalized: the workload's own network namespace and its veth to the host. */
export interface NetworkConfig {
  /** The network namespace's name (/run/netns/NAME). */
  namespace: string;
  /** The service address inside it, with its subnet's prefix length (src/units/ipv4.ts parses it). */
  address: { address: string; prefixLength: number };
  /** The host side's address (default: the subnet's first address); the host's clients use it as source. */
  hostAddress: string;
  /** The host side's interface name (default: the namespace's name). */
  hostInterface: string;
}
