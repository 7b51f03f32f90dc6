import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, type DumpKind } from '../criu/dump.js';
import { criuLogTail, describeCriuEnd } from '../criu/exec.js';
import { readDumpStatsSync } from '../criu/images/index.js';
import type { CriuLocation } from '../criu/locate.js';
import { rewriteAsDelta, saveHashes, type PageHashes, type RewriteResult } from '../delta/index.js';
import type { DumpStats } from '../model/stats.js';
import type { StoredCheckpoint } from './chain.js';
import { checkpointName, describeCheckpoint, freshDirectory, partialName, publish } from './store.js';

export interface CheckpointRequest {
  seq: number;
  pid: number;
  kind: DumpKind;
  /** The checkpoint to build on: CRIU's --prev-images-dir (pre-dump, dump) or the delta's parent. */
  parent: StoredCheckpoint | undefined;
  /** Software deltas: rewrite CRIU's full dump against the previous checkpoint's page hashes. */
  delta: { previous: PageHashes | undefined; pageSize: number } | undefined;
  logLevel: number;
  extraArgs: readonly string[];
  timeoutMs: number;
}

export type CheckpointResult =
  | { ok: true; stored: StoredCheckpoint; dir: string; stats: DumpStats; criuWallMs: number; delta: RewriteResult | undefined }
  | { ok: false; criuWallMs: number; reason: string; logTail: string };

/**
 * Takes one checkpoint into root: CRIU writes into a hidden partial directory (and a delta rewrite runs
 * there), which is renamed to its final name only when everything succeeded, so a crash at any point
 * leaves either a complete checkpoint or a partial one that the next start removes. A failed attempt's
 * CRIU log is kept as root/last-failure.log.
 */
export async function takeCheckpoint(criu: CriuLocation, root: string, request: CheckpointRequest): Promise<CheckpointResult> {
  const partial = join(root, partialName(request.seq));
  const name = checkpointName(request.seq);
  freshDirectory(partial);
  const run = await dump(criu, {
    kind: request.kind,
    pid: request.pid,
    imagesDir: partial,
    // A delta's parent is linked by the rewrite, not by CRIU.
    parent: request.parent === undefined || request.delta !== undefined ? undefined : `../${request.parent.name}`,
    logLevel: request.logLevel,
    extraArgs: request.extraArgs,
    timeoutMs: request.timeoutMs,
  });
  const fail = async (reason: string, logTail = '') => {
    await rm(partial, { recursive: true, force: true });
    return { ok: false as const, criuWallMs: run.wallMs, reason, logTail };
  };
  if (run.exitCode !== 0) {
    const logTail = await criuLogTail(run.logFile);
    await copyFile(run.logFile, join(root, 'last-failure.log')).catch(() => undefined);
    return fail(`criu ${request.kind === 'pre-dump' ? 'pre-dump' : 'dump'} ${describeCriuEnd(run)}`, logTail);
  }
  let stats: DumpStats | undefined;
  try {
    stats = readDumpStatsSync(partial);
  } catch (error) {
    return fail(`CRIU succeeded but its stats are unreadable: ${(error as Error).message}`);
  }
  if (stats === undefined) return fail('CRIU succeeded but wrote no stats-dump');
  let delta: RewriteResult | undefined;
  if (request.delta !== undefined) {
    try {
      delta = await rewriteAsDelta({
        dir: partial,
        name,
        parentName: request.parent?.name,
        previous: request.delta.previous,
        pageSize: request.delta.pageSize,
      });
      // Saved with the images, so that a restarted supervisor can continue this chain. It is delta work
      // (fsync included), so its time counts in the delta's elapsed time, not in remusd's own overhead.
      const savingSince = performance.now();
      await saveHashes(delta.hashes, partial);
      delta = { ...delta, elapsedMs: delta.elapsedMs + (performance.now() - savingSince) };
    } catch (error) {
      return fail(`the delta rewrite failed: ${(error as Error).message}`);
    }
  }
  const dir = join(root, name);
  publish(partial, dir);
  return { ok: true, stored: describeCheckpoint(root, name), dir, stats, criuWallMs: run.wallMs, delta };
}
