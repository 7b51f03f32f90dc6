import { setTimeout as sleep } from 'node:timers/promises';
import { chainOf } from '../store/chain.js';
import { readRunIdentity, RUN_FILE, type RunIdentity } from '../store/run-identity.js';
import { scanCheckpoints } from '../store/checkpoints.js';
import { Channel, PeerError } from './channel.js';
import { chainProblem } from './completeness.js';
import type { ReplicationLog } from './events.js';
import { fileChunks, readLocalCheckpoint, type LocalCheckpoint } from '../store/manifest.js';
import { ProtocolError, type Manifest, type Message } from './protocol.js';
import type { ShipRecord } from './ship-log.js';
import type { WorkloadWatch } from './workload-watch.js';
import { DEFAULT_HEARTBEAT_MS, heartbeatingWhile, workloadField } from './heartbeats.js';

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
  /** A link was sent and acknowledged (the backup then holds it and its whole chain); `run` is the run it belongs to. */
  onShipped?: (record: ShipRecord, run: string) => void;
  /** The backup holds checkpoint `name` of `run` and its whole chain (just shipped, or it had it): output commit releases on this. */
  onAcknowledged?: (name: string, run: string) => Promise<void>;
  /** The run this shipper ships, told before its first offer on each connection. */
  onRun?: (run: string) => Promise<void>;
  /** Bandwidth cap for file bytes, bytes per second (default: none). */
  maxBytesPerSecond?: number;
  /** The protected workload (ship --pid): offers and heartbeats carry its state. */
  workload?: WorkloadWatch;
  /** While a checkpoint is read, hashed, sent and acknowledged, a heartbeat every this long (default 1 s). */
  heartbeatMs?: number;
}

/**
 * A checkpoint was removed here before its offer was sent (the channel is untouched): the primary's compaction
 * or retention took it while the shipper was planning or catching up. Not a failure of the connection.
 */
export class VanishedCheckpoint extends Error {
  constructor(readonly checkpoint: string) {
    super(`checkpoint ${checkpoint} was removed here before it could be offered`);
    this.name = 'VanishedCheckpoint';
  }
}

/**
 * How often one shipChain plans a catch-up again after an ancestor vanished. Each time the primary's chain got
 * shorter (a link flattened, the links behind it removed), so a few suffice; more means something else is wrong.
 */
const MAX_REPLANS = 3;

/** The run of an images directory (its run.json, written by remusd run); a directory without one cannot be shipped. */
export function imagesRun(images: string): RunIdentity {
  const run = readRunIdentity(images);
  if (run === undefined)
    throw new ShipError(`${images}/${RUN_FILE} is missing: remusd run writes it when it starts on the directory`);
  return run;
}

/** What shipping on one connection needs: the run its hello named, which every offer's manifest names too. */
export type RunShipOptions = ShipOptions & { run: RunIdentity };

/**
 * Ships checkpoint `name` and whatever ancestors the backup lacks: offers it; if the backup refuses it for
 * a missing parent, sends the missing links of its chain oldest first, then offers it again. Returns what
 * was sent (empty if the backup had it already).
 */
export async function shipChain(channel: Channel, name: string, options: RunShipOptions): Promise<ShipRecord[]> {
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  return heartbeatingWhile(channel, heartbeatMs, options.workload, () => shipReplanning(channel, name, options));
}

// A planned ancestor that vanished (compaction flattened a newer link and retention removed those behind it:
// while `remusd ship` starts, before the supervisor knows what the backup holds) means the plan is stale, not
// that the connection failed: plan `name` again from the chain as it is now. Until session 12 this tore the
// TLS connection down, logged a failure and reconnected after a back-off.
async function shipReplanning(channel: Channel, name: string, options: RunShipOptions): Promise<ShipRecord[]> {
  const shipped: ShipRecord[] = [];
  for (let replans = 0; ; replans++) {
    try {
      const newest = await shipWithAncestors(channel, name, options, shipped);
      return [...shipped, ...newest];
    } catch (error) {
      if (!(error instanceof VanishedCheckpoint) || error.checkpoint === name || replans >= MAX_REPLANS) throw error;
      options.log.info(
        `ancestor ${error.checkpoint} of ${name} was removed here (compacted) before it was sent; planning ${name} again`,
        { checkpoint: name, vanished: error.checkpoint },
      );
    }
  }
}

/** Ships `name` and its missing ancestors; those sent are also pushed to `sent` as they are acknowledged. */
async function shipWithAncestors(
  channel: Channel,
  name: string,
  options: RunShipOptions,
  sent: ShipRecord[],
): Promise<ShipRecord[]> {
  const first = await offer(channel, name, options);
  if (first.type !== 'refuse') return first.type === 'have' ? [] : [first.record];
  if (first.reason !== 'missing-parent') throw new ShipError(`backup refused ${name}: ${first.message}`);
  const local = scanCheckpoints(options.images);
  const seq = Number(name);
  const problem = chainProblem(local, seq);
  if (problem !== undefined) throw new ShipError(`cannot ship ${name}: its chain is incomplete here too (${problem})`);
  const have = new Set(first.have);
  const missing = chainOf(local, seq)
    .slice(1)
    .reverse()
    .filter((c) => !have.has(c.name));
  options.log.info(`backup lacks ${missing.length} ancestor(s) of ${name}; sending them oldest first`, {
    ancestors: missing.map((c) => c.name),
  });
  for (const ancestor of missing.map((c) => c.name)) {
    const outcome = await offer(channel, ancestor, options, name);
    if (outcome.type === 'refuse') throw new ShipError(`backup refused ${ancestor}: ${outcome.message}`);
    if (outcome.type === 'shipped') sent.push(outcome.record);
  }
  const outcome = await offer(channel, name, options);
  if (outcome.type === 'refuse') throw new ShipError(`backup refused ${name}: ${outcome.message}`);
  return outcome.type === 'shipped' ? [outcome.record] : [];
}

type OfferOutcome = { type: 'shipped'; record: ShipRecord } | { type: 'have' } | Extract<Message, { type: 'refuse' }>;

async function offer(
  channel: Channel,
  name: string,
  options: RunShipOptions,
  ancestorOf?: string,
): Promise<OfferOutcome> {
  const checkpoint = await readLocalCheckpoint(options.images, name).catch((error: NodeJS.ErrnoException) => {
    throw error.code === 'ENOENT' ? new VanishedCheckpoint(name) : error;
  });
  // A supervisor restarted on an emptied directory begins a new run, numbered from 00000001 again: its
  // checkpoints must not go out under the old run's id (the caller reconnects with the new one).
  if (imagesRun(options.images).id !== options.run.id)
    throw new PeerError(`${options.images} began a new run; reconnecting to name it`);
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
  if (answer.type !== 'accept' || answer.name !== name)
    throw new ProtocolError(`expected accept for ${name}, got ${answer.type}`);
  await streamFiles(channel, checkpoint, options.maxBytesPerSecond);
  await channel.send({ type: 'done', name });
  const result = await channel.nextMessage();
  if (result.type === 'reject') throw new ShipError(`backup rejected ${name}: ${result.message}`);
  if (result.type !== 'ack' || result.name !== name)
    throw new ProtocolError(`expected ack for ${name}, got ${result.type}`);
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
  options.onShipped?.(record, options.run.id);
  return { type: 'shipped', record };
}

async function streamFiles(
  channel: Channel,
  checkpoint: LocalCheckpoint,
  maxBytesPerSecond: number | undefined,
): Promise<void> {
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
