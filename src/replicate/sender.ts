import { setTimeout as sleep } from 'node:timers/promises';
import { formatEndpoint } from '../units/endpoint.js';
import { connectToBackup, type BackupAddress } from './backup-connection.js';
import { PeerError, type Channel } from './channel.js';
import { checkpointInProgress, currentLatest } from './latest.js';
import { ProtocolError } from './protocol.js';
import type { ShipRecord } from './ship-log.js';
import { imagesRun, shipChain, ShipError, VanishedCheckpoint, type ShipOptions } from './ship-chain.js';
import { DEFAULT_HEARTBEAT_MS, workloadField } from './heartbeats.js';
import type { ShipObserver } from './events.js';
import type { WorkloadWatch } from './workload-watch.js';
import { errorMessage } from '../fs/error-code.js';

export interface WatchOptions extends ShipOptions, BackupAddress {
  signal: AbortSignal;
  /** How often `latest` is read. */
  pollMs?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  /** When the workload dies, how long to wait for a checkpoint the supervisor is still writing. */
  deathGraceMs?: number;
  /** Told when the connection comes up or goes down, and of each failure (the metrics). */
  observer?: ShipObserver;
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
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  let backoff = options.backoffInitialMs ?? 100;
  let shipped: string | undefined;
  let vanished: string | undefined;
  while (!signal.aborted) {
    let channel: Channel | undefined;
    try {
      const run = imagesRun(options.images);
      await options.onRun?.(run.id);
      channel = await connectToBackup(options.to, options.credentials, run);
      log.info(`connected to backup ${formatEndpoint(options.to)}`, { run: run.id });
      options.observer?.connection(true);
      backoff = options.backoffInitialMs ?? 100;
      let quietSince = performance.now();
      let toldDead = false;
      const onAbort = () => channel?.farewell(`the shipper is stopping (${describeAbort(signal)})`);
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        while (!signal.aborted) {
          // Set once the watch has seen the workload dead (deadSince is set with state 'dead').
          const diedAt = toldDead ? undefined : workload?.deadSince;
          if (diedAt !== undefined)
            await awaitCheckpointInProgress(options.images, options.deathGraceMs ?? 1_000, signal, log);
          const latest = await currentLatest(options.images);
          if (latest !== undefined && latest !== shipped) {
            const outcome = await shipChain(channel, latest, { ...options, run }).catch((error: unknown) => {
              // Read as latest, removed before its offer went out (retention, a shipper that napped): the
              // channel is untouched, and the next look at latest finds the newer one.
              if (error instanceof VanishedCheckpoint && error.checkpoint === latest) return undefined;
              throw error;
            });
            if (outcome === undefined) {
              // Said once per name, and the nap below still comes: a `latest` left dangling must not spin this loop.
              if (vanished !== latest)
                log.info(`${latest} was removed here before it was offered; shipping the newer latest next`);
              vanished = latest;
            } else {
              await options.onAcknowledged?.(latest, run.id);
              shipped = latest;
              quietSince = performance.now();
            }
          }
          if (workload !== undefined && diedAt !== undefined) {
            const at = diedAt.toISOString();
            await channel.send({ type: 'workload-dead', pid: workload.pid, at });
            toldDead = true;
            quietSince = performance.now();
            log.warn(
              `workload ${workload.pid} is dead (seen at ${at}); told the backup, after shipping ${shipped ?? 'nothing'}`,
            );
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
      options.observer?.failed();
      log.warn(`shipping to ${formatEndpoint(options.to)} failed: ${errorMessage(error)}; retrying in ${backoff} ms`);
      await sleep(backoff, undefined, { signal }).catch(() => undefined);
      backoff = Math.min(backoff * 2, options.backoffMaxMs ?? 5_000);
    } finally {
      options.observer?.connection(false);
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
async function awaitCheckpointInProgress(
  images: string,
  graceMs: number,
  signal: AbortSignal,
  log: WatchOptions['log'],
): Promise<void> {
  const started = performance.now();
  if (!(await checkpointInProgress(images))) return;
  while (performance.now() - started < graceMs && !signal.aborted && (await checkpointInProgress(images)))
    await sleep(20);
  log.info(
    `waited ${Math.round(performance.now() - started)} ms for the checkpoint in progress at the workload's death`,
  );
}

/** Ships the current `latest` chain once, retrying the connection until the deadline. */
export async function shipOnce(
  options: ShipOptions & BackupAddress & { connectTimeoutMs?: number },
): Promise<ShipRecord[]> {
  const latest = await currentLatest(options.images);
  if (latest === undefined) throw new ShipError(`${options.images} has no complete checkpoint yet (no latest link)`);
  const run = imagesRun(options.images);
  await options.onRun?.(run.id);
  const deadline = Date.now() + (options.connectTimeoutMs ?? 10_000);
  let backoff = 100;
  for (;;) {
    let channel: Channel;
    try {
      channel = await connectToBackup(options.to, options.credentials, run);
    } catch (error) {
      if (error instanceof ProtocolError || error instanceof PeerError || Date.now() + backoff > deadline) throw error;
      options.log.warn(
        `backup ${formatEndpoint(options.to)} unreachable (${errorMessage(error)}); retrying in ${backoff} ms`,
      );
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 2_000);
      continue;
    }
    try {
      const shipped = await shipChain(channel, latest, { ...options, run });
      await options.onAcknowledged?.(latest, run.id);
      return shipped;
    } finally {
      channel.farewell('ship --once is done');
    }
  }
}
