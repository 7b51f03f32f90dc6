// The network namespace module (issue #8), used by `remusd run`, `remusd failover`, `remusd backup` and the
// network check. Its whole API:
//
//   openServiceNetwork(config, log)    create the namespace + veth + addresses (or reuse an existing one)
//   freshServiceNetwork(config, log)   the same for a restore: never reuses (a leftover is replaced)
//   routeToServiceNetwork(config)      host route SERVICE/32 dev HOST_IF src HOST_ADDRESS (the failover step)
//   closeServiceNetwork(config)        remove namespace + veth if remusd made them and nothing runs inside
//   inNamespace(ns, cmd, args)         nsenter --net=/run/netns/NS -- cmd args (never `ip netns exec`)
//   netnsPath, namespaceInode, processNamespaceInode, processesInNamespace, routeTo, NetError
//
// Everything runs `ip` (iproute2) as root; failures throw NetError with ip's own words.

export type { NetworkConfig } from '../model/network.js';
export { inNamespace } from './enter.js';
export { NetError } from './ip.js';
export { firstHostAddress, isHostInSubnet, parseIpv4Cidr, subnetOf, type Ipv4Cidr } from '../units/ipv4.js';
export { namespaceInode, netnsPath, processesInNamespace, processNamespaceInode } from './namespace.js';
export { routeTo } from './route.js';
export {
  closeServiceNetwork,
  freshServiceNetwork,
  NAMESPACE_INTERFACE,
  openServiceNetwork,
  routeToServiceNetwork,
  type NetworkLog,
  type ServiceNetwork,
} from './service-network.js';
