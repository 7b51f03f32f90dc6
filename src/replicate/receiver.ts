import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { removable } from '../loop/chain.js';
import { removeCheckpoints, removePartials, scanCheckpoints } from '../loop/store.js';
import type { Endpoint } from './address.js';
import { Channel, PeerError } from './channel.js';
import { completeNames } from './completeness.js';
import type { ReplicationLog, SenderEvent } from './events.js';
import { Landing, VerifyError } from './landing.js';
import { hello, helloProblem, ProtocolError, type Frame, type Message } from './protocol.js';

export interface ReceiverOptions {
  /** The backup's own images directory. */
  root: string;
  /** Keep this many newest complete checkpoints (and every ancestor they need). */
  keep: number;
  log: ReplicationLog;
  /** A connection silent this long is dropped (the sender heartbeats every second when idle). */
  idleTimeoutMs?: number;
  /** Told what the senders say and what the backup holds (for automatic failover). */
  onEvent?: (event: SenderEvent) => void;
}

export interface Receiver {
  /** Where it listens (the real port when 0 was asked for). */
  endpoint: Endpoint;
  /**
   * Stops taking checkpoints: later offers are refused (reason failed-over, with `why`). Resolves once the
   * transfer in progress, if any, has landed or been dropped. With dropConnections every sender connection
   * is closed at once, which discards a transfer in progress instead of waiting for it.
   */
  closeIntake(why: string, options?: { dropConnections?: boolean }): Promise<void>;
  close(): Promise<void>;
}

// What serve() and receiveOffer() share: the options, the transfer queue and whether intake is closed.
interface Intake {
  options: ReceiverOptions;
  serialized: <T>(work: () => Promise<T>) => Promise<T>;
  closed: string | undefined;
}

/**
 * Listens for senders and lands their checkpoints in root. Transfers are serialized (one checkpoint at a
 * time, whatever the number of connections), so a reconnecting sender never races the one it replaces.
 */
export async function startReceiver(listen: Endpoint, options: ReceiverOptions): Promise<Receiver> {
  mkdirSync(options.root, { recursive: true });
  const stale = removePartials(options.root);
  if (stale.length > 0) options.log.warn('removed partial checkpoints left by a dropped transfer', { removed: stale });
  const sockets = new Set<Socket>();
  let queue: Promise<unknown> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = queue.then(work);
    queue = result.catch(() => undefined);
    return result;
  };
  const intake: Intake = { options, serialized, closed: undefined };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.setKeepAlive(true, 5_000);
    socket.setTimeout(options.idleTimeoutMs ?? 30_000, () => socket.destroy(new Error('idle timeout')));
    const peer = `${socket.remoteAddress}:${socket.remotePort}`;
    serve(new Channel(socket), peer, intake).catch((error: Error) => {
      options.log.warn(`connection from ${peer} ended: ${error.message}`);
      socket.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  return {
    endpoint: { host: listen.host, port },
    closeIntake: async (why, { dropConnections = false } = {}) => {
      intake.closed = why;
      if (dropConnections) for (const socket of sockets) socket.destroy();
      await serialized(async () => undefined);
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
    },
  };
}

async function serve(channel: Channel, peer: string, intake: Intake): Promise<void> {
  const { options } = intake;
  let first: Message;
  try {
    first = await channel.nextMessage();
  } catch (error) {
    if (error instanceof ProtocolError) await channel.fail(error.message);
    throw error;
  }
  const problem = helloProblem(first, 'sender');
  if (problem !== undefined) {
    await channel.fail(problem);
    throw new ProtocolError(`refused: ${problem}`);
  }
  await channel.send(hello('receiver'));
  options.onEvent?.({ type: 'heard', peer });
  options.log.info(`sender ${peer} connected`);
  for (;;) {
    const frame = await channel.next();
    if (frame === undefined) {
      options.log.info(`sender ${peer} disconnected`);
      return;
    }
    heard(frame, peer, options);
    if (frame.kind === 'data') throw await failed(channel, 'file bytes outside a transfer');
    const message = frame.message;
    if (isStatus(message)) continue;
    if (message.type !== 'offer') throw await failed(channel, `unexpected ${message.type} message (expected offer, heartbeat, workload-dead or goodbye)`);
    await intake.serialized(() => receiveOffer(channel, peer, message, intake));
  }
}

// A frame arrived: the sender is alive; status messages are reported and logged as they come.
function heard(frame: Frame, peer: string, options: ReceiverOptions): void {
  const message = frame.kind === 'message' ? frame.message : undefined;
  const workload = message?.type === 'heartbeat' || message?.type === 'offer' ? message.workload : undefined;
  options.onEvent?.({ type: 'heard', peer, ...(workload === undefined ? {} : { workload }) });
  if (message?.type === 'workload-dead') {
    options.log.warn(`sender ${peer} reports the workload (pid ${message.pid}) dead since ${message.at}`);
    options.onEvent?.({ type: 'workload-dead', peer, pid: message.pid, at: message.at });
  } else if (message?.type === 'goodbye') {
    options.log.info(`sender ${peer} said goodbye (${message.reason}): it is stopping on purpose`);
    options.onEvent?.({ type: 'goodbye', peer, reason: message.reason });
  }
}

/** Messages that need no answer, accepted between checkpoints and during a transfer. */
function isStatus(message: Message): boolean {
  return message.type === 'heartbeat' || message.type === 'workload-dead' || message.type === 'goodbye';
}

async function failed(channel: Channel, message: string): Promise<ProtocolError> {
  await channel.fail(message);
  return new ProtocolError(message);
}

async function receiveOffer(channel: Channel, peer: string, offer: Extract<Message, { type: 'offer' }>, intake: Intake): Promise<void> {
  const { options } = intake;
  const { root, log } = options;
  if (intake.closed !== undefined) {
    const message = `refusing ${offer.name}: this backup takes no more checkpoints (${intake.closed})`;
    log.warn(message);
    await channel.send({ type: 'refuse', name: offer.name, reason: 'failed-over', message, have: [] });
    return;
  }
  if (existsSync(join(root, offer.name))) {
    await channel.send({ type: 'have', name: offer.name });
    options.onEvent?.({ type: 'holds', peer, name: offer.name, how: 'had' });
    return;
  }
  if (offer.parent !== null) {
    const complete = completeNames(scanCheckpoints(root));
    if (!complete.includes(offer.parent)) {
      const message = `refusing ${offer.name}: its parent ${offer.parent} is not complete on this backup (send the missing ancestors first, oldest first)`;
      log.warn(message, { have: complete });
      await channel.send({ type: 'refuse', name: offer.name, reason: 'missing-parent', message, have: complete });
      return;
    }
  }
  const started = performance.now();
  const landing = new Landing(root, offer.name, offer.parent, offer.files);
  landing.begin();
  try {
    await channel.send({ type: 'accept', name: offer.name });
    for (;;) {
      const frame = await channel.next();
      if (frame === undefined) throw new PeerError(`the sender closed the connection during ${offer.name} (${landing.bytes} bytes received); discarded`);
      heard(frame, peer, options);
      if (frame.kind === 'data') await landing.write(frame.bytes);
      else if (frame.message.type === 'done' && frame.message.name === offer.name) break;
      else if (frame.message.type === 'goodbye') {
        await landing.abort();
        log.info(`the transfer of ${offer.name} ended with the sender's goodbye (${landing.bytes} bytes received); discarded`);
        return;
      } else if (!isStatus(frame.message)) throw await failed(channel, `unexpected ${frame.message.type} message during the transfer of ${offer.name}`);
    }
  } catch (error) {
    await landing.abort();
    throw error;
  }
  options.onEvent?.({ type: 'busy', peer, busy: true });
  try {
    try {
      await landing.finish();
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      log.warn(`rejected ${offer.name}: ${error.message}`);
      await channel.send({ type: 'reject', name: offer.name, message: error.message });
      return;
    }
    await channel.send({ type: 'ack', name: offer.name, bytes: landing.bytes });
    options.onEvent?.({ type: 'holds', peer, name: offer.name, how: 'received' });
    log.info(`received ${offer.name}`, { parent: offer.parent, bytes: landing.bytes, files: offer.files.length, ms: Math.round(performance.now() - started) });
    await prune(options);
  } finally {
    options.onEvent?.({ type: 'busy', peer, busy: false });
  }
}

// Retention: the same rule as the supervisor's (src/loop/chain.ts), on the backup's own directory.
async function prune({ root, keep, log }: ReceiverOptions): Promise<void> {
  const doomed = removable(scanCheckpoints(root), keep);
  if (doomed.length === 0) return;
  await removeCheckpoints(root, doomed);
  log.info('retention removed checkpoints', { removed: doomed.map((c) => c.name), keep });
}
