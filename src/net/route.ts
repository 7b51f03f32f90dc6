import { z } from 'zod';
import { ip } from './ip.js';

/** The host's route to an address: the interface and the source address it picks. */
export interface RouteChoice {
  dev: string;
  prefsrc: string | undefined;
}

/**
 * Points the host's route for one service address (a /32) at an interface, with `src` the host side's
 * address: on one machine, primary and backup namespaces share the subnet, and this /32 decides which one
 * the host's clients reach. `replace`, so a failover moves the route in one step and a restart repeats it.
 */
export async function routeServiceAddress(
  serviceAddress: string,
  hostInterface: string,
  hostAddress: string,
): Promise<void> {
  await ip(['route', 'replace', `${serviceAddress}/32`, 'dev', hostInterface, 'src', hostAddress]);
}

// `ip -j route get`: the routes chosen, each with its interface and, when it picks one, its source address.
const routesSchema = z.array(z.object({ dev: z.string(), prefsrc: z.string().optional() }));

/** Where the host would send a packet for this address now (`ip route get`). */
export async function routeTo(address: string): Promise<RouteChoice> {
  const parsed = routesSchema.safeParse(JSON.parse(await ip(['-j', 'route', 'get', address])));
  const route = parsed.success ? parsed.data[0] : undefined;
  if (route === undefined) throw new Error(`ip route get ${address} returned no route (with an interface)`);
  return { dev: route.dev, prefsrc: route.prefsrc };
}
