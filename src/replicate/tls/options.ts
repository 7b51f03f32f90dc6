// The TLS settings both sides use: TLS 1.3 only, each side presents its certificate, and each trusts
// only its pair's CA (not the system's roots), whose key was destroyed after signing the two
// certificates: a handshake succeeds only between the two holders of this pair's keys. The role is
// checked too (subject CN, on top of the extended key usage OpenSSL checks), so the backup's key cannot
// pose as the primary.
import type { ConnectionOptions, PeerCertificate, TLSSocket, TlsOptions } from 'node:tls';
import type { Credentials } from './files.js';

// AES-128-GCM first: with AES-NI it moves bulk data ~1.3× faster than OpenSSL's default AES-256-GCM
// (npm run bench replication), and 128-bit keys are not the weak point of anything here.
const VERSION = {
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256',
} as const;

/** The backup's server options: a client without a certificate of this pair's primary fails the handshake. */
export function serverTlsOptions(credentials: Credentials, handshakeTimeoutMs: number): TlsOptions {
  return {
    ...VERSION,
    key: credentials.keyPem,
    cert: credentials.certPem,
    ca: [credentials.caPem],
    requestCert: true,
    rejectUnauthorized: true,
    handshakeTimeout: handshakeTimeoutMs,
  };
}

/** The primary's client options: a server without this pair's backup certificate fails the handshake. */
export function clientTlsOptions(credentials: Credentials): ConnectionOptions {
  return {
    ...VERSION,
    key: credentials.keyPem,
    cert: credentials.certPem,
    ca: [credentials.caPem],
    rejectUnauthorized: true,
    // The backup is known by its certificate, not by a host name: the address in --to may be anything.
    checkServerIdentity: (_host, cert) => roleProblem(cert, credentials.peerName),
  };
}

/** Why an established connection's peer is not this pair's other side, if it is not. */
export function peerProblem(socket: TLSSocket, credentials: Credentials): Error | undefined {
  if (!socket.authorized)
    return new Error(
      `the peer's certificate was not verified (${String(socket.authorizationError ?? 'no certificate')})`,
    );
  return roleProblem(socket.getPeerCertificate(), credentials.peerName);
}

function roleProblem(cert: PeerCertificate, expected: string): Error | undefined {
  const name = cert.subject?.CN;
  if (name === expected) return undefined;
  return Object.assign(
    new Error(`the peer's certificate is ${JSON.stringify(name)}, expected ${JSON.stringify(expected)}`),
    { code: 'ERR_REMUSD_CERT_ROLE' },
  );
}
