// IPv4 addresses and subnets as the network section writes them (10.88.0.2/24). Pure; imports nothing.

/** An IPv4 address with the prefix length of its subnet. */
export interface Ipv4Cidr {
  address: string;
  prefixLength: number;
}

export type Ipv4Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const OCTETS = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** The address as a 32-bit unsigned number, or undefined when it is not a dotted quad. */
export function ipv4ToNumber(address: string): number | undefined {
  const match = OCTETS.exec(address);
  if (!match) return undefined;
  const [, ...groups] = match;
  if (groups.some((group) => Number(group) > 255 || (group.length > 1 && group.startsWith('0')))) return undefined;
  return groups.reduce((sum, group) => sum * 256 + Number(group), 0);
}

/** The dotted quad of a 32-bit unsigned number. */
export function numberToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `A.B.C.D/N` for a host address in a subnet (N from 8 to 30: room for the host side and the service). */
export function parseIpv4Cidr(text: string): Ipv4Parsed<Ipv4Cidr> {
  const [address = '', prefix, extra] = text.split('/');
  if (prefix === undefined || extra !== undefined || !/^\d{1,2}$/.test(prefix)) {
    return { ok: false, error: 'is not an IPv4 address with a prefix length; write e.g. 10.88.0.2/24' };
  }
  const value = ipv4ToNumber(address);
  if (value === undefined) return { ok: false, error: `has ${JSON.stringify(address)}, which is not an IPv4 address` };
  const prefixLength = Number(prefix);
  if (prefixLength < 8 || prefixLength > 30) return { ok: false, error: 'has a prefix length outside 8..30' };
  const cidr = { address, prefixLength };
  if (value === networkNumber(cidr) || value === broadcastNumber(cidr)) {
    return {
      ok: false,
      error: `is the subnet's ${value === networkNumber(cidr) ? 'network' : 'broadcast'} address; use a host address`,
    };
  }
  return { ok: true, value: cidr };
}

/** The subnet's first host address (10.88.0.1 for 10.88.0.2/24): the host side's default address. */
export function firstHostAddress(cidr: Ipv4Cidr): string {
  return numberToIpv4(networkNumber(cidr) + 1);
}

/** True when address is a host address (not the network or broadcast address) of cidr's subnet. */
export function isHostInSubnet(address: string, cidr: Ipv4Cidr): boolean {
  const value = ipv4ToNumber(address);
  return value !== undefined && value > networkNumber(cidr) && value < broadcastNumber(cidr);
}

/** `10.88.0.0/24` */
export function subnetOf(cidr: Ipv4Cidr): string {
  return `${numberToIpv4(networkNumber(cidr))}/${cidr.prefixLength}`;
}

// The number of a cidr's address; a cidr not made by parseIpv4Cidr with a bad address is a bug, said so.
function cidrAddressNumber(cidr: Ipv4Cidr): number {
  const value = ipv4ToNumber(cidr.address);
  if (value === undefined)
    throw new RangeError(`Ipv4Cidr.address ${JSON.stringify(cidr.address)} is not a dotted quad`);
  return value;
}

function networkNumber(cidr: Ipv4Cidr): number {
  const size = 2 ** (32 - cidr.prefixLength);
  return Math.floor(cidrAddressNumber(cidr) / size) * size;
}

function broadcastNumber(cidr: Ipv4Cidr): number {
  return networkNumber(cidr) + 2 ** (32 - cidr.prefixLength) - 1;
}
