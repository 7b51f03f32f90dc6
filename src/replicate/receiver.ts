import { mkdirSync } from 'node:fs';
import { sweepReport } from '../fs/stale-temporaries.js';
import { removePartials, removeStaleWrites } from '../store/checkpoints.js';
import type { Endpoint } from '../units/endpoint.js';
import { Channel } from './channel.js';
import { BackupCompactor } from './compaction.js';
import { DirLockedError, lockDirectory, type DirLock } from '../loop/dir-lock.js';
import { prune, pruneRuns, removeLeftoverRuns } from './retention.js';
import { listRunDirectories, openBackupRun } from './backup-runs.js';
import { InFlight } from './in-flight.js';
import { listenAuthenticated } from './listener.js';
import { hello, helloProblem, helloRun, ProtocolError, type Message } from './protocol.js';
import { failed, heard, isStatus, receiveOffer } from './receive-offer.js';
import {
  DEFAULT_RECEIVER_LIMITS,
  type Intake,
  type Receiver,
  type ReceiverLimits,
  type ReceiverOptions,
  type Sender,
} from './receiver-options.js';

export {
  DEFAULT_KEEP_RUNS,
  DEFAULT_RECEIVER_LIMITS,
  type Receiver,
  type ReceiverLimits,
  type ReceiverOptions,
} from './receiver-options.js';

/** The largest hello a receiver reads before knowing who speaks: ours is ~80 bytes. */
const HELLO_MAX_BYTES = 4 << 10;

/**
 * Listens for the pair's primary (mutual TLS, listener.ts) and lands its checkpoints in root. Each
 * connection's transfers run on their own, bounded in time and rate (transfer-clock.ts); two transfers
 * of the same name never run at once (in-flight.ts).
 */
export async function startReceiver(listen: Endpoint, options: ReceiverOptions): Promise<Receiver> {
  mkdirSync(options.root, { recursive: true });
  const dirs = [options.root, ...listRunDirectories(options.root).map((r) => r.dir)];
  const stale = dirs.flatMap(removePartials);
  if (stale.length > 0) options.log.warn('removed partial checkpoints left by a dropped transfer', { removed: stale });
  for (const dir of dirs) {
    const swept = sweepReport(dir, await removeStaleWrites(dir));
    if (swept !== undefined) options.log.warn(swept.message, swept.fields);
  }
  const halfRemoved = await removeLeftoverRuns(options.root);
  if (halfRemoved.length > 0)
    options.log.warn('finished removing runs retention had begun to remove', { removed: halfRemoved });
  const limits: ReceiverLimits = { ...DEFAULT_RECEIVER_LIMITS, ...options.limits };
  const intake: Intake = {
    options,
    limits,
    transfers: new InFlight(),
    pruning: Promise.resolve(),
    receiving: new Map(),
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
      // A failover verifies and restores the chain next: not while a compaction swaps one of its links, nor
      // while retention removes checkpoints or runs (none starts once intake is closed).
      await intake.compactor.settled();
      await intake.pruning;
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
  const opened = await openBackupRun(options.root, run, new Date());
  if (!opened.ok) {
    await channel.fail(opened.problem);
    throw new ProtocolError(`refused: ${opened.problem}`);
  }
  const sender: Sender = { peer, run: run.id, dir: opened.dir };
  // Counted before anything is awaited: retention must see this run as receiving from now on.
  intake.receiving.set(run.id, (intake.receiving.get(run.id) ?? 0) + 1);
  channel.socket.once('close', () => {
    const left = (intake.receiving.get(run.id) ?? 1) - 1;
    if (left > 0) intake.receiving.set(run.id, left);
    else intake.receiving.delete(run.id);
  });
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
    if (intake.transfers.size === 0 && intake.closed === undefined) {
      await (intake.pruning = retain(sender, intake).catch((error: Error) =>
        options.log.warn(`retention failed: ${error.message}`),
      ));
      if (intake.closed === undefined) intake.compactor.start(sender.dir, sender.run);
    }
  }
}

// The run's own checkpoints past --keep, then whole runs past --keep-runs (never a run still receiving).
// Under the backup directory's lock, which `remusd failover` by hand holds while it verifies and restores:
// while another process holds it, nothing is removed (retention runs again after the next landing).
async function retain(sender: Sender, intake: Intake): Promise<void> {
  const { options } = intake;
  let lock: DirLock;
  try {
    lock = await lockDirectory(options.root);
  } catch (error) {
    if (!(error instanceof DirLockedError)) throw error;
    options.log.info(`retention skipped: a restore is reading ${options.root} (pid ${error.holderPid})`);
    return;
  }
  try {
    await prune(sender.dir, options.keep, options.log);
    if (options.keepRuns !== undefined)
      await pruneRuns(options.root, options.keepRuns, new Set(intake.receiving.keys()), options.log);
  } finally {
    lock.release();
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
