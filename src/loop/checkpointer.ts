import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { dump, type DumpKind } from '../criu/dump.js';
import { criuLogTail } from '../criu/exec.js';
import { readDumpStatsSync } from '../criu/images/index.js';
import type { CriuLocation } from '../criu/locate.js';
import type { DumpStats } from '../model/stats.js';
import type { StoredCheckpoint } from './chain.js';
import { checkpointName, describeCheckpoint, freshDirectory, partialName, publish } from './store.js';

export interface CheckpointRequest {
  seq: number;
  pid: number;
  kind: DumpKind;
  parent: StoredCheckpoint | undefined;
  logLevel: number;
  extraArgs: readonly string[];
  timeoutMs: number;
}

export type CheckpointResult =
  | { ok: true; stored: StoredCheckpoint; dir: string; stats: DumpStats; criuWallMs: number }
  | { ok: false; criuWallMs: number; reason: string; logTail: string };

/**
 * Takes one checkpoint into root: CRIU writes into a hidden partial directory, which is renamed to its
 * final name only when CRIU succeeded and its stats are readable, so a crash at any point leaves either a
 * complete checkpoint or a partial one that the next start removes. A failed attempt's CRIU log is kept
 * as root/last-failure.log.
 */
export async function takeCheckpoint(criu: CriuLocation, root: string, request: CheckpointRequest): Promise<CheckpointResult> {
  const partial = join(root, partialName(request.seq));
  const name = checkpointName(request.seq);
  freshDirectory(partial);
  const run = await dump(criu, {
    kind: request.kind,
    pid: request.pid,
    imagesDir: partial,
    parent: request.parent === undefined ? undefined : `../${request.parent.name}`,
    logLevel: request.logLevel,
    extraArgs: request.extraArgs,
    timeoutMs: request.timeoutMs,
  });
  if (run.exitCode !== 0) {
    const logTail = await criuLogTail(run.logFile);
    await copyFile(run.logFile, join(root, 'last-failure.log')).catch(() => undefined);
    await rm(partial, { recursive: true, force: true });
    const how = run.timedOut ? `timed out after ${request.timeoutMs} ms` : run.signal ? `was killed by ${run.signal}` : `exited with ${run.exitCode}`;
    return { ok: false, criuWallMs: run.wallMs, reason: `criu ${request.kind === 'pre-dump' ? 'pre-dump' : 'dump'} ${how}`, logTail };
  }
  let stats: DumpStats | undefined;
  try {
    stats = readDumpStatsSync(partial);
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    return { ok: false, criuWallMs: run.wallMs, reason: `CRIU succeeded but its stats are unreadable: ${(error as Error).message}`, logTail: '' };
  }
  if (stats === undefined) {
    await rm(partial, { recursive: true, force: true });
    return { ok: false, criuWallMs: run.wallMs, reason: 'CRIU succeeded but wrote no stats-dump', logTail: '' };
  }
  const dir = join(root, name);
  publish(partial, dir);
  return { ok: true, stored: describeCheckpoint(root, name), dir, stats, criuWallMs: run.wallMs };
}
