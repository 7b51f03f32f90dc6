import { connect } from 'node:tls';
import { errorCode } from '../fs/error-code.js';
import type { RunIdentity } from '../store/run-identity.js';
import { formatEndpoint, type Endpoint } from '../units/endpoint.js';
import { Channel, PeerClosedError } from './channel.js';
import { hello, helloProblem, ProtocolError, type Message } from './protocol.js';
import type { Credentials } from './tls/files.js';
import { clientTlsOptions, peerProblem } from './tls/options.js';

/** Where the backup is, and this primary's key material to prove itself to it. */
export interface BackupAddress {
  to: Endpoint;
  credentials: Credentials;
}

/**
 * Connects to a backup over mutual TLS and exchanges hellos, ours naming the run whose checkpoints this
 * connection carries: nothing is sent before the handshake proved the peer holds this pair's backup key.
 * A backup that refuses us throws PeerError, a peer that is not one ProtocolError (or a TLS error, for
 * one that is not this pair's backup).
 */
export async function connectToBackup(
  to: Endpoint,
  credentials: Credentials,
  run: RunIdentity,
  timeoutMs = 5_000,
): Promise<Channel> {
  const socket = connect({ host: to.host, port: to.port, ...clientTlsOptions(credentials) });
  const channel = new Channel(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no TLS connection to ${formatEndpoint(to)} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('secureConnect', () => (clearTimeout(timer), resolve()));
      socket.once(
        'error',
        (error) => (
          clearTimeout(timer),
          reject(authError(to, error) ?? new Error(`${formatEndpoint(to)}: ${error.message}`))
        ),
      );
    });
    const impostor = peerProblem(socket, credentials);
    if (impostor !== undefined) throw new ProtocolError(`${formatEndpoint(to)}: ${impostor.message}`);
    socket.setNoDelay(true);
    await channel.send(hello('sender', run));
    // The same limit for the answer: a peer that accepts connections but never says hello must not hold
    // the shipper forever (destroying the channel in catch ends the pending read).
    const answer = await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${formatEndpoint(to)} did not answer hello within ${timeoutMs} ms`)),
        timeoutMs,
      );
      channel.nextMessage().then(
        (message) => (clearTimeout(timer), resolve(message)),
        // In TLS 1.3 the backup checks our certificate after our side of the handshake is done: its refusal
        // arrives as an alert, or as the connection closing, on the first read.
        (error: Error) => (
          clearTimeout(timer),
          reject(authError(to, error, error instanceof PeerClosedError) ?? error)
        ),
      );
    });
    const problem = helloProblem(answer, 'receiver');
    if (problem !== undefined) throw new ProtocolError(`${formatEndpoint(to)}: ${problem}`);
    return channel;
  } catch (error) {
    channel.destroy();
    throw error;
  }
}

// A TLS verification failure, with what to do about it; ProtocolError, so that `ship --once` does not retry
// what retrying cannot fix. undefined for any other error.
function authError(to: Endpoint, error: Error, closedAfterHandshake = false): ProtocolError | undefined {
  const code = errorCode(error) ?? '';
  if (!closedAfterHandshake && !/^ERR_SSL_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) return undefined;
  const what = closedAfterHandshake
    ? "closed the connection right after the TLS handshake (it refused this primary's certificate?)"
    : `failed TLS authentication: ${error.message}`;
  return new ProtocolError(
    `${formatEndpoint(to)} ${what}; both sides need the keys of one \`remusd keys init DIR\`: DIR/primary here, DIR/backup on the backup`,
  );
}
