// The backup's side of the transport: a TLS server that hands on only authenticated connections of this
// pair's primary, with every resource an unauthenticated peer can hold bounded:
//   - handshakes in progress: at most maxPending; a new connection past that evicts the oldest one (an
//     honest handshake takes a few ms, so the oldest is the likeliest to be an idle attacker's);
//   - each handshake: handshakeTimeoutMs, and OpenSSL's own bounds on handshake messages;
//   - authenticated connections: at most maxConnections; a new one evicts the oldest (a restarted
//     shipper must not be locked out by the dead one's half-open connection);
//   - refusals are logged as a count at most once per 10 s, so a flood cannot fill the disk with logs.
// Nothing is read from a connection as remusd protocol before its handshake verified the certificate.
import type { Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { Endpoint } from '../units/endpoint.js';
import type { ReplicationLog } from './events.js';
import type { Credentials } from './tls/files.js';
import { peerProblem, serverTlsOptions } from './tls/options.js';

export interface ListenerLimits {
  /** TLS handshakes in progress at once. */
  maxPending: number;
  /** A handshake not done by then is dropped. */
  handshakeTimeoutMs: number;
  /** Authenticated connections at once. */
  maxConnections: number;
}

// 32 pending handshakes: each costs ~10 KiB here (measured with 1,000 idle connections, see
// test/replicate/unauthenticated.test.ts), and a primary needs one. 4 connections: a shipper uses one;
// the others cover a restart that overlaps its predecessor's half-open connection.
export const DEFAULT_LISTENER_LIMITS: ListenerLimits = { maxPending: 32, handshakeTimeoutMs: 5_000, maxConnections: 4 };

export interface Listener {
  endpoint: Endpoint;
  /** Closes every authenticated connection (and pending handshake) at once. */
  dropAll(): void;
  close(): Promise<void>;
}

const REFUSAL_LOG_EVERY_MS = 10_000;

/** Listens on `at`; calls onPeer with each connection whose peer proved to be this pair's primary. */
export async function listenAuthenticated(
  at: Endpoint,
  credentials: Credentials,
  log: ReplicationLog,
  onPeer: (socket: TLSSocket, peer: string) => void,
  limits: ListenerLimits = DEFAULT_LISTENER_LIMITS,
): Promise<Listener> {
  const pending = new Map<string, Socket>();
  const authenticated = new Set<TLSSocket>();
  const refusals = refusalLog(log);
  const server: Server = createServer(serverTlsOptions(credentials, limits.handshakeTimeoutMs));
  server.on('connection', (raw: Socket) => {
    raw.on('error', () => undefined);
    const key = socketKey(raw);
    if (pending.size >= limits.maxPending) {
      // A Map iterates in insertion order: its first entry is the oldest handshake.
      for (const [oldestKey, oldest] of pending) {
        pending.delete(oldestKey);
        oldest.destroy();
        refusals.add(oldestKey, `evicted: more than ${limits.maxPending} handshakes in progress`);
        break;
      }
    }
    pending.set(key, raw);
    raw.once('close', () => pending.get(key) === raw && pending.delete(key));
  });
  server.on('tlsClientError', (error: Error, socket: TLSSocket) => refusals.add(socketKey(socket), error.message));
  server.on('secureConnection', (socket: TLSSocket) => {
    const peer = socketKey(socket);
    pending.delete(peer);
    socket.on('error', () => undefined);
    const problem = peerProblem(socket, credentials);
    if (problem !== undefined) {
      refusals.add(peer, problem.message);
      socket.destroy();
      return;
    }
    if (authenticated.size >= limits.maxConnections) {
      // A Set iterates in insertion order: its first member is the oldest connection.
      for (const oldest of authenticated) {
        authenticated.delete(oldest);
        log.warn(
          `closing the oldest connection (${socketKey(oldest)}): more than ${limits.maxConnections} authenticated connections`,
        );
        oldest.destroy();
        break;
      }
    }
    authenticated.add(socket);
    socket.once('close', () => authenticated.delete(socket));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 5_000);
    onPeer(socket, `primary ${peer}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => (server.off('error', reject), resolve()));
  });
  const address = server.address();
  const dropAll = () => {
    for (const socket of [...pending.values(), ...authenticated]) socket.destroy();
  };
  return {
    endpoint: { host: at.host, port: typeof address === 'object' && address !== null ? address.port : at.port },
    dropAll,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      dropAll();
      await closed;
      refusals.flush();
    },
  };
}

// Unique among open connections to one listening port; public, unlike the TLS socket's raw parent.
function socketKey(socket: Socket): string {
  return `${socket.remoteAddress}:${socket.remotePort}`;
}

// Counts refused connections and logs them at most once per REFUSAL_LOG_EVERY_MS.
function refusalLog(log: ReplicationLog) {
  let count = 0;
  let lastLogged = -Infinity;
  let last = '';
  const flush = () => {
    if (count === 0) return;
    log.warn(`refused ${count} unauthenticated connection(s); the last one: ${last}`);
    count = 0;
    lastLogged = performance.now();
  };
  return {
    add(peer: string, why: string) {
      count++;
      last = `${peer}: ${why}`;
      if (performance.now() - lastLogged >= REFUSAL_LOG_EVERY_MS) flush();
    },
    flush,
  };
}
