// The checkpointer of `remusd run`: real CRIU on a real process tree, images in a directory (src/store/).

import { copyFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, type DumpKind } from '../criu/dump.js';
import { criuLogTail, describeCriuEnd, type CriuRun } from '../criu/exec.js';
import { recoverAfterCriu } from '../criu/recover.js';
import { readDumpStatsSync } from '../criu/images/index.js';
import type { CriuLocation } from '../criu/locate.js';
import {
  compactCheckpoint,
  loadHashes,
  rewriteAsDelta,
  saveHashes,
  type PageHashes,
  type RewriteResult,
} from '../delta/index.js';
import { errorMessage } from '../fs/error-code.js';
import { flushAndDropCache } from '../fs/page-cache.js';
import { sweepReport } from '../fs/stale-temporaries.js';
import { freezeCgroupOf, isFrozen } from '../process/freezer.js';
import { processState } from '../process/proc.js';
import type { DumpStats } from '../model/stats.js';
import type { StoredCheckpoint } from '../store/chain.js';
import { openRun } from '../store/run-identity.js';
import type { CheckpointFailed, CheckpointRequest, CheckpointTaken, Checkpointer } from './checkpointer.js';
import {
  checkpointName,
  describeCheckpoint,
  freshDirectory,
  markLatest,
  partialName,
  publish,
  removeCheckpoints,
  removePartials,
  removeStaleWrites,
  scanCheckpoints,
} from '../store/checkpoints.js';

/** What the CRIU checkpointer works on. */
export interface CriuCheckpointerOptions {
  criu: CriuLocation;
  /** The images directory. */
  root: string;
  pid: number;
  /** The CRIU operation behind the mode. */
  kind: DumpKind;
  /** Software deltas: each full dump is rewritten against the previous checkpoint's page hashes. */
  delta: boolean;
  pageSize: number;
  /**
   * Delta mode: flush a chain start's full image and drop it from the page cache right after the rewrite
   * (src/fs/page-cache.ts says why). Default true; false only to measure the spike it removes (npm run bench).
   */
  dropChainStartCache?: boolean;
  log: {
    info(message: string, fields?: Record<string, unknown>): void;
    warn(message: string, fields?: Record<string, unknown>): void;
    /** What needs the operator (a workload that CRIU's end left dead or held); warn when absent. */
    error?(message: string, fields?: Record<string, unknown>): void;
  };
  /** Aborting it kills the CRIU in progress (the fence: a checkpoint of a fenced workload is worthless). */
  cancel?: AbortSignal;
  /** Dumps run CRIU at SCHED_FIFO with this priority (src/criu/realtime.ts); undefined: normal scheduling. */
  realtimePriority?: number | undefined;
  /** Benches only: which checkpoints get realtimePriority (default all), to measure both ways in one run. */
  realtimeWhen?: ((seq: number) => boolean) | undefined;
}

/**
 * CRIU behind the Checkpointer interface. In delta mode it holds the newest checkpoint's page hashes (8 bytes a
 * page) from one checkpoint to the next, and starts from the saved hashes of a previous run when they still
 * match their directory.
 */
export function criuCheckpointer(options: CriuCheckpointerOptions): Checkpointer {
  const { root } = options;
  // Delta mode: the page hashes of the newest checkpoint.
  let held: PageHashes | undefined;
  return {
    async open() {
      const leftovers = removePartials(root);
      if (leftovers.length > 0)
        options.log.warn(`removed ${leftovers.length} half-written checkpoint(s) left by a crash`, { leftovers });
      const stale = sweepReport(root, await removeStaleWrites(root));
      if (stale !== undefined) options.log.warn(stale.message, stale.fields);
      const stored = scanCheckpoints(root);
      // The directory's run (run.json): what tells a backup these checkpoints from another life's of the same names.
      options.log.info(`run: ${(await openRun(root, stored.length > 0, new Date())).reason}`);
      // A previous run's checkpoints are kept and numbered after. With soft-dirty (pre-dump, dump) they are never
      // a parent: what happened to the kernel's dirty bits in between is unknown. A delta compares content, so
      // the chain continues from the newest checkpoint's saved hashes (checked against its directory before use).
      const newest = stored.at(-1);
      if (!options.delta || newest === undefined) return { stored, previous: undefined };
      const saved = await loadHashes(join(root, newest.name));
      if (!saved.ok) {
        options.log.warn(`starting a new delta chain: ${saved.reason}`);
        return { stored, previous: undefined };
      }
      held = saved.state;
      options.log.info(`continuing the delta chain from checkpoint ${newest.name}`);
      return { stored, previous: newest };
    },
    async take(request) {
      const result = await takeCheckpoint(options, request, held);
      if (!result.ok) return result;
      held = result.rewrite?.hashes;
      // `latest` is what a restore or a shipper takes: a pre-dump is not a restorable checkpoint.
      if (options.kind !== 'pre-dump') {
        try {
          markLatest(root, result.stored.name);
        } catch (error) {
          options.log.warn(`could not point latest at ${result.stored.name}: ${errorMessage(error)}`, {
            checkpoint: result.stored.name,
          });
        }
      }
      const { rewrite, ...rest } = result;
      return {
        ...rest,
        delta:
          rewrite === undefined
            ? undefined
            : {
                changedPages: rewrite.changedPages,
                totalPages: rewrite.totalPages,
                elapsedMs: rewrite.elapsedMs,
                parentUsed: rewrite.parentUsed,
                reason: rewrite.reason,
                shmem: rewrite.shmem.handling,
              },
      };
    },
    remove: (checkpoints: readonly StoredCheckpoint[]) => removeCheckpoints(root, checkpoints),
    ...(options.delta
      ? {
          async compact(target: StoredCheckpoint, step: () => Promise<void>) {
            const done = await compactCheckpoint({ root, name: target.name, pageSize: options.pageSize, step });
            return {
              ok: true as const,
              target,
              compacted: describeCheckpoint(root, target.name),
              links: done.links,
              bytesWritten: done.bytesWritten,
              elapsedMs: done.elapsedMs,
            };
          },
        }
      : {}),
  };
}

type TakeResult = CheckpointTaken<{ rewrite: RewriteResult | undefined }> | CheckpointFailed;

/**
 * Takes one checkpoint into root: CRIU writes into a hidden partial directory (and a delta rewrite runs
 * there), which is renamed to its final name only when everything succeeded, so a crash at any point
 * leaves either a complete checkpoint or a partial one that the next start removes. A failed attempt's
 * CRIU log is kept as root/last-failure.log.
 */
async function takeCheckpoint(
  options: CriuCheckpointerOptions,
  request: CheckpointRequest,
  previous: PageHashes | undefined,
): Promise<TakeResult> {
  const { root } = options;
  const askedAtMs = performance.now();
  const partial = join(root, partialName(request.seq));
  const name = checkpointName(request.seq);
  freshDirectory(partial);
  // A stop of the workload's own (State T before CRIU ran) is not CRIU's to undo.
  const stoppedBefore = (await processState(options.pid)) === 'T';
  // Likewise a freezer cgroup frozen before CRIU ran (criu.extra_args: --freeze-cgroup).
  const freezeCgroup = freezeCgroupOf(request.extraArgs);
  const freezer =
    freezeCgroup === undefined
      ? undefined
      : { cgroup: freezeCgroup, frozenBefore: (await isFrozen(freezeCgroup)) === true };
  const run = await dump(options.criu, {
    kind: options.kind,
    pid: options.pid,
    imagesDir: partial,
    // A delta's parent is linked by the rewrite, not by CRIU.
    parent: request.parent === undefined || options.delta ? undefined : `../${request.parent.name}`,
    logLevel: request.logLevel,
    extraArgs: request.extraArgs,
    timeoutMs: request.timeoutMs,
    signal: options.cancel,
    realtimePriority: options.realtimeWhen?.(request.seq) === false ? undefined : options.realtimePriority,
  });
  const dumpedAfterMs = performance.now() - askedAtMs;
  await request.onDumped?.();
  const fail = async (reason: string, logTail = '') => {
    await rm(partial, { recursive: true, force: true });
    return { ok: false as const, criuWallMs: run.wallMs, reason, logTail };
  };
  if (run.exitCode !== 0) {
    const logTail = await criuLogTail(run.logFile);
    await copyFile(run.logFile, join(root, 'last-failure.log')).catch(() => undefined);
    const ended = `criu ${options.kind === 'pre-dump' ? 'pre-dump' : 'dump'} ${describeCriuEnd(run)}`;
    return fail(`${ended}${await afterAbnormalEnd(run, options, { stoppedBefore, freezer })}`, logTail);
  }
  let stats: DumpStats | undefined;
  try {
    stats = readDumpStatsSync(partial);
  } catch (error) {
    return fail(`CRIU succeeded but its stats are unreadable: ${errorMessage(error)}`);
  }
  if (stats === undefined) return fail('CRIU succeeded but wrote no stats-dump');
  let rewrite: RewriteResult | undefined;
  if (options.delta) {
    try {
      rewrite = await rewriteAsDelta({
        dir: partial,
        name,
        parentName: request.parent?.name,
        previous,
        pageSize: options.pageSize,
      });
      // Saved with the images, so that a restarted supervisor can continue this chain. It is delta work
      // (fsync included), so its time counts in the delta's elapsed time, not in remusd's own overhead.
      const savingSince = performance.now();
      await saveHashes(rewrite.hashes, partial);
      // A chain start keeps CRIU's full dump: out of the page cache with it, or the next dump's image comes
      // out of cold memory while the workload is frozen (3–4× the median frozen time after every chain start).
      if (!rewrite.parentUsed && options.dropChainStartCache !== false) await dropKeptImage(partial, options.log);
      rewrite = { ...rewrite, elapsedMs: rewrite.elapsedMs + (performance.now() - savingSince) };
    } catch (error) {
      return fail(`the delta rewrite failed: ${errorMessage(error)}`);
    }
  }
  const dir = join(root, name);
  publish(partial, dir);
  // CRIU lets the workload go and exits: it stopped writing when the freezing began, before its frozen time.
  const freezeAfterMs = Math.max(0, dumpedAfterMs - (stats.freezing_time + stats.frozen_time) / 1000);
  return {
    ok: true,
    stored: describeCheckpoint(root, name),
    dir,
    stats,
    criuWallMs: run.wallMs,
    freezeAfterMs,
    rewrite,
  };
}

/**
 * After a CRIU that did not end by itself (killed, crashed): the workload is looked at and continued if CRIU
 * left it stopped (src/criu/recover.ts); one that is dead or still held is logged as an error. Returns what
 * the failure's reason adds ("" after a CRIU that exited: it unseized the workload itself).
 */
async function afterAbnormalEnd(
  run: CriuRun,
  options: CriuCheckpointerOptions,
  before: Pick<Parameters<typeof recoverAfterCriu>[1], 'stoppedBefore' | 'freezer'>,
): Promise<string> {
  if (run.signal === undefined && !run.timedOut) return '';
  // The fence cancels a dump and stops the workload on purpose: never continue it then.
  const stoppedOnPurpose = options.cancel?.aborted === true ? 'the dump was cancelled (fenced)' : undefined;
  const recovery = await recoverAfterCriu(options.pid, { ...before, stoppedOnPurpose });
  const { found, now, actions } = recovery;
  const said = [found.summary, ...actions, ...(actions.length > 0 ? [`now ${now.summary}`] : [])].join('; ');
  const fields = { pid: options.pid, condition: now.condition, remnants: now.remnants, actions };
  if (now.condition === 'running') options.log.warn(`after CRIU's end, ${said}`, fields);
  else (options.log.error ?? options.log.warn)(`CRIU's end left the workload ${now.condition}: ${said}`, fields);
  return `; then ${said}`;
}

// Flushes and drops the pages images of a checkpoint kept whole. A failure costs only speed: logged, not fatal.
async function dropKeptImage(dir: string, log: CriuCheckpointerOptions['log']): Promise<void> {
  const images = (await readdir(dir)).filter((name) => /^pages-\d+\.img$/.test(name)).map((name) => join(dir, name));
  await flushAndDropCache(images).catch((error: unknown) =>
    log.warn(`could not drop a chain start's image from the page cache: ${errorMessage(error)}`),
  );
}
