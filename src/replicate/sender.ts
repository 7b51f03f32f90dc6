import { connect } from 'node:tls';
import { setTimeout as sleep } from 'node:timers/promises';
import { chainOf } from '../store/chain.js';
import { readRunIdentity, RUN_FILE, type RunIdentity } from '../store/run-identity.js';
import { scanCheckpoints } from '../store/checkpoints.js';
import { formatEndpoint, type Endpoint } from '../units/endpoint.js';
import { Channel, PeerClosedError, PeerError } from './channel.js';
import { chainProblem } from './completeness.js';
import type { ReplicationLog } from './events.js';
import { checkpointInProgress, currentLatest } from './latest.js';
import { fileChunks, readLocalCheckpoint, type LocalCheckpoint } from '../store/manifest.js';
import { hello, helloProblem, ProtocolError, type Manifest, type Message } from './protocol.js';
import type { ShipRecord } from './ship-log.js';
import type { Credentials } from './tls/files.js';
import { clientTlsOptions, peerProblem } from './tls/options.js';
import type { WorkloadWatch } from './workload-watch.js';

/** The backup refused or rejected a checkpoint for a reason retrying the same bytes will not fix. */
export class ShipError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShipError';
  }
}

export interface ShipOptions {
  /** The primary's images directory (the supervisor's checkpoint.dir). */
  images: string;
  log: ReplicationLog;
  onShipped?: (record: ShipRecord) => void;
  /** The backup holds checkpoint `name` and its whole chain (just shipped, or it had it): output commit releases on this. */
  onAcknowledged?: (name: string) => Promise<void>;
  /** Bandwidth cap for file bytes, bytes per second (default: none). */
  maxBytesPerSecond?: number;
  /** The protected workload (ship --pid): offers and heartbeats carry its state. */
  workload?: WorkloadWatch;
}

/** The run of an images directory (its run.json, written by remusd run); a directory without one cannot be shipped. */
export function imagesRun(images: string): RunIdentity {
  const run = readRunIdentity(images);
  if (run === undefined) throw new ShipError(`${images}/${RUN_FILE} is missing: remusd run writes it when it starts on the directory`);
  return run;
}

/**
 * Connects to a backup over mutual TLS and exchanges hellos, ours naming the run whose checkpoints this
 * connection carries: nothing is sent before the handshake proved the peer holds this pair's backup key.
 * A backup that refuses us throws PeerError, a peer that is not one ProtocolError (or a TLS error, for
 * one that is not this pair's backup).
 */
export async function connectToBackup(to: Endpoint, credentials: Credentials, run: RunIdentity, timeoutMs = 5_000): Promise<Channel> {
  const socket = connect({ host: to.host, port: to.port, ...clientTlsOptions(credentials) });
  const channel = new Channel(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no TLS connection to ${formatEndpoint(to)} within ${timeoutMs} ms`)), timeoutMs);
      socket.once('secureConnect', () => (clearTimeout(timer), resolve()));
      socket.once('error', (error) => (clearTimeout(timer), reject(authError(to, error) ?? new Error(`${formatEndpoint(to)}: ${error.message}`))));
    });
    const impostor = peerProblem(socket, credentials);
    if (impostor !== undefined) throw new ProtocolError(`${formatEndpoint(to)}: ${impostor.message}`);
    socket.setNoDelay(true);
    await channel.send(hello('sender', run));
    // The same limit for the answer: a peer that accepts connections but never says hello must not hold
    // the shipper forever (destroying the channel in catch ends the pending read).
    const answer = await new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${formatEndpoint(to)} did not answer hello within ${timeoutMs} ms`)), timeoutMs);
      channel.nextMessage().then(
        (message) => (clearTimeout(timer), resolve(message)),
        // In TLS 1.3 the backup checks our certificate after our side of the handshake is done: its refusal
        // arrives as an alert, or as the connection closing, on the first read.
        (error: Error) => (clearTimeout(timer), reject(authError(to, error, error instanceof PeerClosedError) ?? error)),
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
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (!closedAfterHandshake && !/^ERR_SSL_|CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/.test(code)) return undefined;
  const what = closedAfterHandshake ? 'closed the connection right after the TLS handshake (it refused this primary\'s certificate?)' : `failed TLS authentication: ${error.message}`;
  return new ProtocolError(
    `${formatEndpoint(to)} ${what}; both sides need the keys of one \`remusd keys init DIR\`: DIR/primary here, DIR/backup on the backup`,
  );
}

/** What shipping on one connection needs: the run its hello named, which every offer's manifest names too. */
export type RunShipOptions = ShipOptions & { run: RunIdentity };

/**
 * Ships checkpoint `name` and whatever ancestors the backup lacks: offers it; if the backup refuses it for
 * a missing parent, sends the missing links of its chain oldest first, then offers it again. Returns what
 * was sent (empty if the backup had it already).
 */
export async function shipChain(channel: Channel, name: string, options: RunShipOptions): Promise<ShipRecord[]> {
  const first = await offer(channel, name, options);
  if (first.type !== 'refuse') return first.type === 'have' ? [] : [first.record];
  if (first.reason !== 'missing-parent') throw new ShipError(`backup refused ${name}: ${first.message}`);
  const local = scanCheckpoints(options.images);
  const seq = Number(name);
  const problem = chainProblem(local, seq);
  if (problem !== undefined) throw new ShipError(`cannot ship ${name}: its chain is incomplete here too (${problem})`);
  const have = new Set(first.have);
  const missing = chainOf(local, seq).slice(1).reverse().filter((c) => !have.has(c.name));
  options.log.info(`backup lacks ${missing.length} ancestor(s) of ${name}; sending them oldest first`, { ancestors: missing.map((c) => c.name) });
  const shipped: ShipRecord[] = [];
  for (const ancestor of [...missing.map((c) => c.name), name]) {
    const outcome = await offer(channel, ancestor, options, ancestor === name ? undefined : name);
    if (outcome.type === 'refuse') throw new ShipError(`backup refused ${ancestor}: ${outcome.message}`);
    if (outcome.type === 'shipped') shipped.push(outcome.record);
  }
  return shipped;
}

type OfferOutcome = { type: 'shipped'; record: ShipRecord } | { type: 'have' } | Extract<Message, { type: 'refuse' }>;

async function offer(channel: Channel, name: string, options: RunShipOptions, ancestorOf?: string): Promise<OfferOutcome> {
  const checkpoint = await readLocalCheckpoint(options.images, name);
  // A supervisor restarted on an emptied directory begins a new run, numbered from 00000001 again: its
  // checkpoints must not go out under the old run's id (the caller reconnects with the new one).
  if (imagesRun(options.images).id !== options.run.id) throw new PeerError(`${options.images} began a new run; reconnecting to name it`);
  const manifest: Manifest = {
    format: 1,
    run: options.run.id,
    name,
    parent: checkpoint.parent,
    taken_at: new Date(checkpoint.writtenMs).toISOString(),
    files: checkpoint.files,
  };
  const started = performance.now();
  await channel.send({ type: 'offer', manifest, ...workloadField(options.workload) });
  const answer = await channel.nextMessage();
  if (answer.type === 'have') return { type: 'have' };
  if (answer.type === 'refuse') {
    options.log.warn(`backup refused ${name}: ${answer.message}`);
    return answer;
  }
  if (answer.type !== 'accept' || answer.name !== name) throw new ProtocolError(`expected accept for ${name}, got ${answer.type}`);
  await streamFiles(channel, checkpoint, options.maxBytesPerSecond);
  await channel.send({ type: 'done', name });
  const result = await channel.nextMessage();
  if (result.type === 'reject') throw new ShipError(`backup rejected ${name}: ${result.message}`);
  if (result.type !== 'ack' || result.name !== name) throw new ProtocolError(`expected ack for ${name}, got ${result.type}`);
  const acked = Date.now();
  const record: ShipRecord = {
    name,
    parent: checkpoint.parent,
    bytes: checkpoint.bytes,
    files: checkpoint.files.length,
    ms: Math.round(performance.now() - started),
    lag_ms: Math.max(0, Math.round(acked - checkpoint.writtenMs)),
    acked_at: new Date(acked).toISOString(),
    ...(ancestorOf === undefined ? {} : { ancestor_of: ancestorOf }),
  };
  const { name: checkpointName, ...fields } = record;
  options.log.info(`shipped ${name}`, { checkpoint: checkpointName, ...fields });
  options.onShipped?.(record);
  return { type: 'shipped', record };
}

function workloadField(workload: WorkloadWatch | undefined): { workload?: WorkloadWatch['state'] } {
  return workload === undefined ? {} : { workload: workload.state };
}

async function streamFiles(channel: Channel, checkpoint: LocalCheckpoint, maxBytesPerSecond: number | undefined): Promise<void> {
  const started = performance.now();
  let sent = 0;
  for (const file of checkpoint.files) {
    for await (const chunk of fileChunks(checkpoint.dir, file)) {
      await channel.sendData(chunk);
      sent += chunk.length;
      if (maxBytesPerSecond !== undefined) {
        const ahead = (sent * 1000) / maxBytesPerSecond - (performance.now() - started);
        if (ahead > 0) await sleep(ahead);
      }
    }
  }
}

/** Where the backup is, and this primary's key material to prove itself to it. */
export interface BackupAddress {
  to: Endpoint;
  credentials: Credentials;
}

export interface WatchOptions extends ShipOptions, BackupAddress {
  signal: AbortSignal;
  /** How often `latest` is read. */
  pollMs?: number;
  /** A heartbeat goes out after this long without other traffic. */
  heartbeatMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** When the workload dies, how long to wait for a checkpoint the supervisor is still writing. */
  deathGraceMs?: number;
}

/**
 * Ships every new complete checkpoint as `latest` moves, until the signal aborts. A backup that is down or
 * drops the connection is retried with exponential back-off; a checkpoint that failed is not skipped:
 * after reconnecting, the then newest checkpoint is shipped with every ancestor the backup lacks.
 *
 * With a workload to watch, the moment it is seen dead the newest complete checkpoint is shipped (a
 * transfer in flight finishes first, and a checkpoint the supervisor is still writing gets deathGraceMs
 * to appear), then workload-dead is sent, on this connection and again on any later one. The connection
 * stays up. On abort the backup is told goodbye, so that it does not take the silence for a failure.
 */
export async function watchAndShip(options: WatchOptions): Promise<void> {
  const { signal, log, workload } = options;
  const pollMs = options.pollMs ?? 200;
  const heartbeatMs = options.heartbeatMs ?? 1_000;
  let backoff = options.backoffInitialMs ?? 100;
  let shipped: string | undefined;
  while (!signal.aborted) {
    let channel: Channel | undefined;
    try {
      const run = imagesRun(options.images);
      channel = await connectToBackup(options.to, options.credentials, run);
      log.info(`connected to backup ${formatEndpoint(options.to)}`, { run: run.id });
      backoff = options.backoffInitialMs ?? 100;
      let quietSince = performance.now();
      let toldDead = false;
      const onAbort = () => channel?.farewell(`the shipper is stopping (${describeAbort(signal)})`);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        while (!signal.aborted) {
          const dying = workload?.state === 'dead' && !toldDead;
          if (dying) await awaitCheckpointInProgress(options.images, options.deathGraceMs ?? 1_000, signal, log);
          const latest = await currentLatest(options.images);
          if (latest !== undefined && latest !== shipped) {
            await shipChain(channel, latest, { ...options, run });
            await options.onAcknowledged?.(latest);
            shipped = latest;
            quietSince = performance.now();
          }
          if (dying) {
            const at = workload.deadSince!.toISOString();
            await channel.send({ type: 'workload-dead', pid: workload.pid, at });
            toldDead = true;
            quietSince = performance.now();
            log.warn(`workload ${workload.pid} is dead (seen at ${at}); told the backup, after shipping ${shipped ?? 'nothing'}`);
          } else if (performance.now() - quietSince >= heartbeatMs) {
            await channel.send({ type: 'heartbeat', at: new Date().toISOString(), ...workloadField(workload) });
            quietSince = performance.now();
          }
          await nap(pollMs, signal, toldDead ? undefined : workload);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } catch (error) {
      if (signal.aborted) break;
      log.warn(`shipping to ${formatEndpoint(options.to)} failed: ${(error as Error).message}; retrying in ${backoff} ms`);
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, options.backoffMaxMs ?? 5_000);
    } finally {
      if (signal.aborted) channel?.farewell(`the shipper is stopping (${describeAbort(signal)})`);
      else channel?.socket.end();
    }
  }
}

function describeAbort(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason ?? 'stopped');
}

/** Sleeps ms, or less if the signal aborts or the workload dies. */
function nap(ms: number, signal: AbortSignal, workload: WorkloadWatch | undefined): Promise<void> {
  return new Promise((resolve) => {
    let unsubscribe: () => void = () => undefined;
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      unsubscribe();
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    if (workload !== undefined) unsubscribe = workload.onDeath(done);
  });
}

// A dump that started before the workload died can still be published just after (CRIU had its memory
// already); one started after cannot exist, since CRIU needs the live process. Wait a little for it.
async function awaitCheckpointInProgress(images: string, graceMs: number, signal: AbortSignal, log: WatchOptions['log']): Promise<void> {
  const started = performance.now();
  if (!(await checkpointInProgress(images))) return;
  while (performance.now() - started < graceMs && !signal.aborted && (await checkpointInProgress(images))) await sleep(20);
  log.info(`waited ${Math.round(performance.now() - started)} ms for the checkpoint in progress at the workload's death`);
}

/** Ships the current `latest` chain once, retrying the connection until the deadline. */
export async function shipOnce(options: ShipOptions & BackupAddress & { connectTimeoutMs?: number }): Promise<ShipRecord[]> {
  const latest = await currentLatest(options.images);
  if (latest === undefined) throw new ShipError(`${options.images} has no complete checkpoint yet (no latest link)`);
  const run = imagesRun(options.images);
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  let backoff = 100;
  for (;;) {
    let channel: Channel;
    try {
      channel = await connectToBackup(options.to, options.credentials, run);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof PeerError || Date.now() + backoff > deadline) throw error;
      options.log.warn(`backup ${formatEndpoint(options.to)} unreachable (${(error as Error).message}); retrying in ${backoff} ms`);
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
      continue;
    }
    try {
      const shipped = await shipChain(channel, latest, { ...options, run });
      await options.onAcknowledged?.(latest);
      return shipped;
    } finally {
      channel.farewell('ship --once is done');
    }
  }
}
