import { mkdirSync } from 'node:fs';
import { removePartials } from '../store/checkpoints.js';
import type { Endpoint } from '../units/endpoint.js';
import { Channel, PeerError } from './channel.js';
import { BackupCompactor } from './compaction.js';
import { prune } from './retention.js';
import { holdingsOf, listRunDirectories, openBackupRun } from './backup-runs.js';
import { judgeOffer } from './intake.js';
import type { ReceiveObserver, ReplicationLog, SenderEvent } from './events.js';
import { InFlight } from './in-flight.js';
import { Landing, VerifyError } from './landing.js';
import { DEFAULT_LISTENER_LIMITS, listenAuthenticated, type ListenerLimits } from './listener.js';
import { hello, helloProblem, helloRun, ProtocolError, type Frame, type Message } from './protocol.js';
import type { Credentials } from './tls/files.js';
import { DEFAULT_TRANSFER_LIMITS, TransferClock, type TransferLimits } from './transfer-clock.js';

/** Every limit a receiver puts on its peers (each has a default). */
export interface ReceiverLimits extends ListenerLimits, TransferLimits {
  /** After the handshake, the peer's hello must arrive within this. */
  helloTimeoutMs: number;
  /** A connection silent this long between transfers is dropped (the sender heartbeats every second when idle). */
  idleTimeoutMs: number;
}

export const DEFAULT_RECEIVER_LIMITS: ReceiverLimits = {
  ...DEFAULT_LISTENER_LIMITS,
  ...DEFAULT_TRANSFER_LIMITS,
  helloTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
};

/** The largest hello a receiver reads before knowing who speaks: ours is ~80 bytes. */
const HELLO_MAX_BYTES = 4 << 10;

export interface ReceiverOptions {
  /** The backup's own images directory. */
  root: string;
  /** Keep this many newest complete checkpoints (and every ancestor they need). */
  keep: number;
  /** Flatten a run's chain at compactAt links (compaction.ts); pageSize is this machine's. Undefined: never. */
  compaction?: { compactAt: number; pageSize: number };
  log: ReplicationLog;
  /** The backup's side of its pair's key material: only the pair's primary gets past the handshake. */
  credentials: Credentials;
  limits?: Partial<ReceiverLimits>;
  /** Told what the senders say and what the backup holds (for automatic failover). */
  onEvent?: (event: SenderEvent) => void;
  /** Told of connected senders, received bytes and failed transfers (the metrics). */
  observer?: ReceiveObserver;
}

export interface Receiver {
  /** Where it listens (the real port when 0 was asked for). */
  endpoint: Endpoint;
  /**
   * Stops taking checkpoints: later offers are refused (reason failed-over, with `why`). Resolves once the
   * transfers in progress, if any, have landed or been dropped. With dropConnections every sender
   * connection is closed at once, which discards the transfers in progress instead of waiting for them.
   */
  closeIntake(why: string, options?: { dropConnections?: boolean }): Promise<void>;
  close(): Promise<void>;
}

// What serve() and receiveOffer() share: the options, the transfers in progress and whether intake is closed.
interface Intake {
  options: ReceiverOptions;
  limits: ReceiverLimits;
  transfers: InFlight;
  /** Retention in progress: a transfer starts only after it, so its parent cannot vanish under it. */
  pruning: Promise<void>;
  /** Compactions of the runs' chains (one at a time; transfers go on beside it). */
  compactor: BackupCompactor;
  closed: string | undefined;
}

/**
 * Listens for the pair's primary (mutual TLS, listener.ts) and lands its checkpoints in root. Each
 * connection's transfers run on their own, bounded in time and rate (transfer-clock.ts); two transfers
 * of the same name never run at once (in-flight.ts).
 */
export async function startReceiver(listen: Endpoint, options: ReceiverOptions): Promise<Receiver> {
  mkdirSync(options.root, { recursive: true });
  const stale = [options.root, ...listRunDirectories(options.root).map((r) => r.dir)].flatMap(removePartials);
  if (stale.length > 0) options.log.warn('removed partial checkpoints left by a dropped transfer', { removed: stale });
  const limits: ReceiverLimits = { ...DEFAULT_RECEIVER_LIMITS, ...options.limits };
  const intake: Intake = {
    options,
    limits,
    transfers: new InFlight(),
    pruning: Promise.resolve(),
    compactor: new BackupCompactor(options.compaction, options.log),
    closed: undefined,
  };
  const listener = await listenAuthenticated(
    listen,
    options.credentials,
    options.log,
    (socket, peer) => {
      socket.setTimeout(limits.idleTimeoutMs, () => socket.destroy(new Error('idle timeout')));
      serve(new Channel(socket, { firstFrameMaxBytes: HELLO_MAX_BYTES }), peer, intake).catch((error: Error) => {
        options.log.warn(`connection from ${peer} ended: ${error.message}`);
        socket.destroy();
      });
    },
    limits,
  );
  return {
    endpoint: listener.endpoint,
    closeIntake: async (why, { dropConnections = false } = {}) => {
      intake.closed = why;
      if (dropConnections) listener.dropAll();
      await intake.transfers.settled();
      // A failover verifies and restores the chain next: not while a compaction swaps one of its links.
      await intake.compactor.settled();
    },
    close: async () => {
      await listener.close();
      await intake.transfers.settled();
      await intake.compactor.settled();
    },
  };
}

async function serve(channel: Channel, peer: string, intake: Intake): Promise<void> {
  const { options } = intake;
  let first: Message;
  try {
    first = await withTimeout(
      channel.nextMessage(),
      intake.limits.helloTimeoutMs,
      `no hello within ${intake.limits.helloTimeoutMs} ms`,
    );
  } catch (error) {
    if (error instanceof ProtocolError) await channel.fail(error.message);
    throw error;
  }
  const problem = helloProblem(first, 'sender');
  if (problem !== undefined) {
    await channel.fail(problem);
    throw new ProtocolError(`refused: ${problem}`);
  }
  // The sender's run: every offer on this connection must belong to it, and lands in its own directory.
  const run = helloRun(first);
  const opened = openBackupRun(options.root, run, new Date());
  if (!opened.ok) {
    await channel.fail(opened.problem);
    throw new ProtocolError(`refused: ${opened.problem}`);
  }
  const sender: Sender = { peer, run: run.id, dir: opened.dir };
  await channel.send(hello('receiver'));
  options.observer?.senders(1);
  channel.socket.once('close', () => options.observer?.senders(-1));
  options.onEvent?.({ type: 'heard', peer, run: run.id });
  options.log.info(`sender ${peer} connected`, { run: run.id, host: run.host, started: run.started });
  for (;;) {
    const frame = await channel.next();
    if (frame === undefined) {
      options.log.info(`sender ${peer} disconnected`);
      return;
    }
    heard(frame, sender, options);
    if (frame.kind === 'data') throw await failed(channel, 'file bytes outside a transfer');
    const message = frame.message;
    if (isStatus(message)) continue;
    if (message.type !== 'offer')
      throw await failed(
        channel,
        `unexpected ${message.type} message (expected offer, heartbeat, workload-dead or goodbye)`,
      );
    await intake.pruning;
    // One transfer per checkpoint of a run: two runs' 00000001 are different checkpoints.
    const key = `${sender.run}/${message.manifest.name}`;
    await intake.transfers.run(
      key,
      channel,
      () => receiveOffer(channel, sender, message, intake),
      () =>
        options.log.warn(
          `${peer} offers ${message.manifest.name} of run ${sender.run} again: closing the older connection that was transferring it`,
        ),
    );
    if (intake.transfers.size === 0) {
      await (intake.pruning = prune(sender.dir, options.keep, options.log).catch((error: Error) =>
        options.log.warn(`retention failed: ${error.message}`),
      ));
      if (intake.closed === undefined) intake.compactor.start(sender.dir, sender.run);
    }
  }
}

// Rejects with `message` if the promise has not settled within ms.
async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ProtocolError(message)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** One sender connection after its hello: where it is, its run, and the backup's directory for that run. */
interface Sender {
  peer: string;
  /** The run id its hello named (events carry it: liveness belongs to a run). */
  run: string;
  dir: string;
}

// A frame arrived: the sender is alive; status messages are reported and logged as they come.
function heard(frame: Frame, { peer, run }: Sender, options: ReceiverOptions): void {
  const message = frame.kind === 'message' ? frame.message : undefined;
  const workload = message?.type === 'heartbeat' || message?.type === 'offer' ? message.workload : undefined;
  options.onEvent?.({ type: 'heard', peer, run, ...(workload === undefined ? {} : { workload }) });
  if (message?.type === 'workload-dead') {
    options.log.warn(`sender ${peer} reports the workload (pid ${message.pid}) dead since ${message.at}`, { run });
    options.onEvent?.({ type: 'workload-dead', peer, run, pid: message.pid, at: message.at });
  } else if (message?.type === 'goodbye') {
    options.log.info(`sender ${peer} said goodbye (${message.reason}): it is stopping on purpose`, { run });
    options.onEvent?.({ type: 'goodbye', peer, run, reason: message.reason });
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

async function receiveOffer(
  channel: Channel,
  sender: Sender,
  offer: Extract<Message, { type: 'offer' }>,
  intake: Intake,
): Promise<void> {
  const { options } = intake;
  const { log } = options;
  const { peer, run } = sender;
  const { name, parent } = offer.manifest;
  if (offer.manifest.run !== run)
    throw await failed(channel, `offer of ${name} names run ${offer.manifest.run} on a connection of run ${run}`);
  if (intake.closed !== undefined) {
    const message = `refusing ${name}: this backup takes no more checkpoints (${intake.closed})`;
    log.warn(message);
    await channel.send({ type: 'refuse', name, reason: 'failed-over', message, have: [] });
    return;
  }
  const holdings = holdingsOf(sender.dir, name);
  const verdict = judgeOffer(offer.manifest, holdings, Date.now());
  if (verdict.type === 'have') {
    await channel.send({ type: 'have', name });
    options.onEvent?.({ type: 'holds', peer, run, name, how: 'had' });
    return;
  }
  if (verdict.type === 'refuse') {
    log.warn(verdict.message, { run, have: holdings.complete });
    await channel.send({
      type: 'refuse',
      name,
      reason: verdict.reason,
      message: verdict.message,
      have: [...holdings.complete],
    });
    return;
  }
  const started = performance.now();
  const landing = new Landing(sender.dir, offer.manifest);
  landing.begin();
  const cut = watchTransfer(channel, offer, intake.limits, started);
  try {
    await channel.send({ type: 'accept', name });
    for (;;) {
      const frame = await channel.next().catch((error: Error) => {
        if (cut.reason !== undefined) throw new PeerError(cut.reason);
        if (error instanceof ProtocolError) throw error;
        // A reset, or an end in the middle of a frame (likelier over TLS, whose records split each frame).
        throw new PeerError(
          `the sender closed the connection during ${name} (${landing.bytes} bytes received; ${error.message}); discarded`,
        );
      });
      if (frame === undefined)
        throw new PeerError(
          cut.reason ?? `the sender closed the connection during ${name} (${landing.bytes} bytes received); discarded`,
        );
      heard(frame, sender, options);
      if (frame.kind === 'data') {
        cut.clock.data(frame.bytes.length);
        await landing.write(frame.bytes);
      } else if (frame.message.type === 'done' && frame.message.name === name) break;
      else if (frame.message.type === 'goodbye') {
        options.observer?.failed();
        await landing.abort();
        log.info(
          `the transfer of ${name} ended with the sender's goodbye (${landing.bytes} bytes received); discarded`,
        );
        return;
      } else if (!isStatus(frame.message))
        throw await failed(channel, `unexpected ${frame.message.type} message during the transfer of ${name}`);
    }
  } catch (error) {
    options.observer?.failed();
    await landing.abort();
    throw error;
  } finally {
    cut.stop();
  }
  options.onEvent?.({ type: 'busy', peer, run, busy: true });
  try {
    try {
      await landing.finish();
    } catch (error) {
      if (!(error instanceof VerifyError)) throw error;
      options.observer?.failed();
      log.warn(`rejected ${name}: ${error.message}`);
      await channel.send({ type: 'reject', name, message: error.message });
      return;
    }
    await channel.send({ type: 'ack', name, bytes: landing.bytes });
    options.observer?.received(landing.bytes, offer.manifest.taken_at);
    options.onEvent?.({ type: 'holds', peer, run, name, how: 'received' });
    log.info(`received ${name}`, {
      run,
      parent,
      bytes: landing.bytes,
      files: offer.manifest.files.length,
      ms: Math.round(performance.now() - started),
    });
  } finally {
    options.onEvent?.({ type: 'busy', peer, run, busy: false });
  }
}

// Checks the transfer's clock every 100 ms; once it is over its limits, tells the sender why and closes
// the connection (the receive loop then discards the partial copy, with that reason).
function watchTransfer(
  channel: Channel,
  offer: Extract<Message, { type: 'offer' }>,
  limits: TransferLimits,
  startMs: number,
) {
  const clock = new TransferClock(
    offer.manifest.files.reduce((sum, f) => sum + f.size, 0),
    limits,
    startMs,
  );
  const state: { clock: TransferClock; reason: string | undefined; stop: () => void } = {
    clock,
    reason: undefined,
    stop: () => clearInterval(timer),
  };
  const timer = setInterval(() => {
    const why = clock.check(performance.now());
    if (why === undefined) return;
    clearInterval(timer);
    state.reason = `the transfer of ${offer.manifest.name} was cut: ${why}; discarded`;
    void channel.fail(state.reason).finally(() => channel.destroy());
  }, 100);
  return state;
}
