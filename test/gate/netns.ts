import { execa } from 'execa';

// A throwaway network namespace joined to the host by a veth pair, for the gate's own tests (names start
// with "rg", addresses inside 10.72.0.0/16). The remusd network section builds the same shape for real runs.

export interface TestNamespace {
  name: string;
  /** The host-side end of the veth (its ingress is the namespace's output). */
  hostInterface: string;
  hostAddress: string;
  address: string;
  /** Runs a command inside the namespace (nsenter: network namespace only). */
  exec(command: string, args: string[]): ReturnType<typeof execa>;
  remove(): Promise<void>;
}

let counter = 0;

/** Creates namespace rg<tag><n>, veth rg<tag><n>h ↔ rg<tag><n>n, 10.72.<k>.1 (host) / 10.72.<k>.2 (inside). */
export async function createTestNamespace(tag: string): Promise<TestNamespace> {
  counter += 1;
  const id = `${tag}${process.pid % 10000}${counter}`;
  const name = `rg${id}`;
  const hostInterface = `rg${id}h`;
  const inner = `rg${id}n`;
  if (hostInterface.length > 15) throw new Error(`interface name ${hostInterface} too long`);
  const subnet = 100 + ((process.pid * 7 + counter) % 150);
  const hostAddress = `10.72.${subnet}.1`;
  const address = `10.72.${subnet}.2`;
  const ip = (...args: string[]) => execa('ip', args);
  await ip('netns', 'add', name);
  try {
    await ip('link', 'add', hostInterface, 'type', 'veth', 'peer', 'name', inner);
    await ip('link', 'set', inner, 'netns', name);
    // No IPv6 inside: its neighbour discovery would add packets the tests do not expect to count.
    await execa('nsenter', [
      `--net=/run/netns/${name}`,
      'sysctl',
      '-qw',
      'net.ipv6.conf.all.disable_ipv6=1',
      `net.ipv6.conf.${inner}.disable_ipv6=1`,
    ]);
    await ip('addr', 'add', `${hostAddress}/24`, 'dev', hostInterface);
    await ip('link', 'set', hostInterface, 'up');
    await ip('-n', name, 'addr', 'add', `${address}/24`, 'dev', inner);
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
    hostAddress,
    address,
    exec: (command, args) => execa('nsenter', [`--net=/run/netns/${name}`, command, ...args]),
    remove: async () => {
      await ip('link', 'del', hostInterface).catch(() => undefined);
      await ip('netns', 'del', name).catch(() => undefined);
    },
  };
}
