import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  firstHostAddress,
  ipv4ToNumber,
  isHostInSubnet,
  numberToIpv4,
  parseIpv4Cidr,
  subnetOf,
} from '../../src/units/ipv4.js';

describe('IPv4 subnets of the network section', () => {
  it('parses a service address and derives the host side and subnet', () => {
    const cidr = parseIpv4Cidr('10.88.0.2/24');
    expect(cidr).toEqual({ ok: true, value: { address: '10.88.0.2', prefixLength: 24 } });
    if (!cidr.ok) return;
    expect(firstHostAddress(cidr.value)).toBe('10.88.0.1');
    expect(subnetOf(cidr.value)).toBe('10.88.0.0/24');
    expect(isHostInSubnet('10.88.0.254', cidr.value)).toBe(true);
    expect(isHostInSubnet('10.88.0.255', cidr.value)).toBe(false); // broadcast
    expect(isHostInSubnet('10.88.1.1', cidr.value)).toBe(false);
  });

  it.each([
    ['10.88.0.2', 'prefix length'],
    ['10.88.0.2/31', 'outside 8..30'],
    ['10.88.0.0/24', 'network address'],
    ['10.88.0.255/24', 'broadcast address'],
    ['10.88.0.256/24', 'not an IPv4 address'],
    ['10.088.0.2/24', 'not an IPv4 address'],
    ['fd00::2/64', 'not an IPv4 address'],
    ['10.88.0.2/24/1', 'prefix length'],
  ])('refuses %s (%s)', (text, why) => {
    const parsed = parseIpv4Cidr(text);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.error).toContain(why);
  });

  it('round-trips every address and keeps the first host inside the subnet', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 8, max: 30 }), (value, prefixLength) => {
        const address = numberToIpv4(value);
        expect(ipv4ToNumber(address)).toBe(value);
        const parsed = parseIpv4Cidr(`${address}/${prefixLength}`);
        if (!parsed.ok) return; // network or broadcast address
        expect(isHostInSubnet(address, parsed.value)).toBe(true);
        expect(isHostInSubnet(firstHostAddress(parsed.value), parsed.value)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });
});
