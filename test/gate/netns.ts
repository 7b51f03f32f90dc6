import { execa } from 'execa';

// A throwaway network namespace joined to the host by a veth pair, for the gate's own tests (names start
// with "rg", addresses inside 10.72.0.0/16). The remusd network section builds the same shape for real runs.

export interface TestNamespace {
  name: string;
  /** The host-side end of the veth (its ingress is the namespace's output). */
  hostInterface: string;
  /** The veth's end inside the namespace. */
  innerInterface: string;
  hostAddress: string;
  address: string;
  /** With `ipv6`: the host side's and the namespace's IPv6 addresses (a ULA /64). */
  hostAddress6?: string;
  address6?: string;
  /** Runs a command inside the namespace (nsenter: network namespace only). */
  exec(command: string, args: string[]): ReturnType<typeof execa>;
  remove(): Promise<void>;
}

let counter = 0;

/** Where a test's namespace lives: its name prefix and /16 (defaults rg, 10.72), IPv6 on or off (off). */
export interface NamespaceOptions {
  prefix?: string;
  octets?: string;
  /** IPv6 too: fd00:<second octet>:<k>::1 (host) / ::2 (inside), besides IPv4. */
  ipv6?: boolean;
}

/**
 * Creates namespace <prefix><tag><n>, veth …h ↔ …n, <octets>.<k>.1 (host) / <octets>.<k>.2 (inside), and with
 * `ipv6` a /64 of IPv6 addresses as well.
 */
export async function createTestNamespace(
  tag: string,
  { prefix = 'rg', octets = '10.72', ipv6 = false }: NamespaceOptions = {},
): Promise<TestNamespace> {
  counter += 1;
  const id = `${tag}${process.pid % 10000}${counter}`;
  const name = `${prefix}${id}`;
  const hostInterface = `${prefix}${id}h`;
  const inner = `${prefix}${id}n`;
  if (hostInterface.length > 15) throw new Error(`interface name ${hostInterface} too long`);
  const subnet = 100 + ((process.pid * 7 + counter) % 150);
  const hostAddress = `${octets}.${subnet}.1`;
  const address = `${octets}.${subnet}.2`;
  const net6 = `fd00:${octets.split('.')[1] ?? '0'}:${subnet}::`;
  const ip = (...args: string[]) => execa('ip', args);
  await ip('netns', 'add', name);
  try {
    await ip('link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', inner);
    await ip('link', 'set', inner, 'netns', name);
    // No IPv6 inside unless asked for: its neighbour discovery would add packets the tests do not expect to count.
    if (!ipv6)
      await execa('nsenter', [
        `--net=/run/netns/${name}`,
        'sysctl',
        '-qw',
        'net.ipv6.conf.all.disable_ipv6=1',
        `net.ipv6.conf.${inner}.disable_ipv6=1`,
      ]);
    await ip('addr', 'add', `${hostAddress}/24`, 'dev', hostInterface);
    if (ipv6) await ip('addr', 'add', `${net6}1/64`, 'dev', hostInterface, 'nodad');
    await ip('link', 'set', hostInterface, 'up');
    await ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', inner);
    if (ipv6) await ip('-n', name, 'addr', 'add', `${net6}2/64`, 'dev', inner, 'nodad');
    await ip('-n', name, 'link', 'set', inner, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
  } catch (error) {
    await ip('link', 'del', hostInterface).catch(() => undefined);
    await ip('netns', 'del', name).catch(() => undefined);
    throw error;
  }
  return {
    name,
    hostInterface,
    innerInterface: inner,
    hostAddress,
    address,
    ...(ipv6 ? { hostAddress6: `${net6}1`, address6: `${net6}2` } : {}),
    exec: (command, args) => execa('nsenter', [`--net=/run/netns/${name}`, command, ...args]),
    remove: async () => {
      await ip('link', 'del', hostInterface).catch(() => undefined);
      await ip('netns', 'del', name).catch(() => undefined);
    },
  };
}
