// The one HOST:PORT parser: ship --to, backup --listen and the config's metrics.listen all take endpoints,
// and two parsers with different regexes once accepted different strings for the same option.

import { isIP } from 'node:net';
import type { Parsed } from './units.js';

/** A TCP endpoint: an IP address or a host name, and a port. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Parses `host:port` or `[v6]:port`; the host is an IP address or a host name. Port 0 ("any free port")
 * only where a listener may choose its own (`allowAnyPort`). Errors complete a sentence that starts with
 * the text.
 */
export function parseEndpoint(text: string, options: { allowAnyPort?: boolean } = {}): Parsed<Endpoint> {
  const bad: Parsed<Endpoint> = { ok: false, error: 'is not host:port; use e.g. 127.0.0.1:7070 or [::1]:7070' };
  const match = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (match === null) return bad;
  const [, host = '', digits] = match;
  const port = Number(digits);
  const lowest = options.allowAnyPort === true ? 0 : 1;
  if (port < lowest || port > 65535) return { ok: false, error: `has a port outside ${lowest}..65535` };
  const bracketed = text.startsWith('[');
  if (bracketed ? isIP(host) !== 6 : isIP(host) === 0 && !/^[a-zA-Z0-9.-]+$/.test(host)) return bad;
  return { ok: true, value: { host, port } };
}

/** HOST:PORT, with brackets around an IPv6 address. */
export function formatEndpoint(endpoint: Endpoint): string {
  return isIP(endpoint.host) === 6 ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1' || host === '0:0:0:0:0:0:0:1') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return /^::ffff:127\./i.test(host);
}
