import { z } from 'zod';
import { ip, ipIn } from './ip.js';

// `ip -j link show dev NAME`: the interface's index and, for a veth, its peer's.
const linksSchema = z.array(z.object({ ifindex: z.number(), link_index: z.number().optional() }));
type LinkInfo = z.infer<typeof linksSchema>[number];

/** The interface's index and its veth peer's index, or undefined when there is no such interface. */
export async function linkInfo(name: string, namespace?: string): Promise<LinkInfo | undefined> {
  const args = ['-j', 'link', 'show', 'dev', name];
  try {
    const [info] = linksSchema.parse(
      JSON.parse(namespace === undefined ? await ip(args) : await ipIn(namespace, args)),
    );
    return info;
  } catch {
    return undefined;
  }
}

/** True when hostSide (in this namespace) and peer (inside namespace) are the two ends of one veth pair. */
export async function isVethPair(hostSide: string, namespace: string, peer: string): Promise<boolean> {
  const [host, inside] = await Promise.all([linkInfo(hostSide), linkInfo(peer, namespace)]);
  return (
    host !== undefined &&
    inside !== undefined &&
    host.link_index === inside.ifindex &&
    inside.link_index === host.ifindex
  );
}

/** Creates a veth pair: hostSide here, peer moved into the namespace. */
export async function createVethPair(hostSide: string, namespace: string, peer: string): Promise<void> {
  await ip(['link', 'add', hostSide, 'type', 'veth', 'peer', 'name', peer, 'netns', namespace]);
}

/** Deletes an interface (a veth's peer goes with it); an absent one is fine. */
export async function deleteLink(name: string): Promise<void> {
  if ((await linkInfo(name)) !== undefined) await ip(['link', 'del', 'dev', name]);
}

/** Gives an interface an address (idempotent: `ip addr replace`) and brings it up. */
export async function addressAndUp(name: string, cidr: string, namespace?: string): Promise<void> {
  const run = (args: string[]) => (namespace === undefined ? ip(args) : ipIn(namespace, args));
  await run(['addr', 'replace', cidr, 'dev', name]);
  await run(['link', 'set', 'dev', name, 'up']);
}
