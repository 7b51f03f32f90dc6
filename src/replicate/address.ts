import { isIP } from 'node:net';

/** A TCP endpoint given as HOST:PORT. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Parses HOST:PORT ([::1]:PORT for IPv6); port 0 means "any free port" for a listener. */
export function parseEndpoint(text: string): { ok: true; value: Endpoint } | { ok: false; error: string } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port > 65535) return { ok: false, error: `${JSON.stringify(text)} is not HOST:PORT (e.g. 127.0.0.1:7070)` };
  return { ok: true, value: { host: match[1] ?? match[2]!, port } };
}

// One rule for "stays on this machine", shared with metrics.listen in the config.
export { isLoopback } from '../config/fields.js';

/** HOST:PORT, with brackets around an IPv6 address. */
export function formatEndpoint(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
