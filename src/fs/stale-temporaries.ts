// Temporary files whose writer died. A writer killed between creating its temporary name and renaming it
// into place (writeFileAtomically's `.NAME.PID.RANDOM.tmp`, markLatest's `.latest.PID`) leaves the name
// behind, and nothing else ever removes it: over months of restarts they pile up beside the files. Each
// name carries its writer's pid, so a start removes those whose writer is gone and keeps any whose writer
// still runs (another process may be writing that very file now).

import { opendir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { errorCode } from './error-code.js';

/** How many directory entries one sweep looks at: a directory is never read without bound. */
export const SWEEP_MAX_ENTRIES = 10_000;

/** What a sweep did. */
export interface Sweep {
  /** Names removed (their writer is dead). */
  removed: string[];
  /** Names kept because their writer still runs. */
  kept: string[];
  /** The directory had more entries than the sweep looked at. */
  truncated: boolean;
}

/** Whether pid names a running process (EPERM: it runs, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errorCode(error) !== 'ESRCH';
  }
}

/**
 * Removes the entries of dir whose name matches one of `patterns` (each captures the writer's pid as its
 * first group) and whose writer is dead; this process's own are kept. Looks at SWEEP_MAX_ENTRIES entries at
 * most (maxEntries). A missing dir is an empty sweep.
 */
export async function removeStaleTemporaries(
  dir: string,
  patterns: readonly RegExp[],
  { alive = pidAlive, maxEntries = SWEEP_MAX_ENTRIES }: { alive?: (pid: number) => boolean; maxEntries?: number } = {},
): Promise<Sweep> {
  const sweep: Sweep = { removed: [], kept: [], truncated: false };
  let entries;
  try {
    entries = await opendir(dir);
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return sweep;
    throw error;
  }
  let seen = 0;
  for await (const entry of entries) {
    if (++seen > maxEntries) {
      sweep.truncated = true;
      break; // leaving the loop early closes the directory
    }
    const pid = writerPid(entry.name, patterns);
    if (pid === undefined) continue;
    if (pid === process.pid || alive(pid)) sweep.kept.push(entry.name);
    else {
      await rm(join(dir, entry.name), { force: true, recursive: entry.isDirectory() });
      sweep.removed.push(entry.name);
    }
  }
  return sweep;
}

// The writer's pid a temporary name carries, or undefined when the name is not one of ours.
function writerPid(name: string, patterns: readonly RegExp[]): number | undefined {
  for (const pattern of patterns) {
    const pid = Number(pattern.exec(name)?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
  }
  return undefined;
}

/** The log line for a sweep that removed or skipped something (undefined: nothing to say). */
export function sweepReport(
  dir: string,
  sweep: Sweep,
): { message: string; fields: Record<string, unknown> } | undefined {
  if (sweep.removed.length === 0 && !sweep.truncated) return undefined;
  return {
    message: `removed ${sweep.removed.length} temporary file(s) of writers that died mid-write from ${dir}`,
    fields: {
      removed: sweep.removed.slice(0, 20),
      ...(sweep.truncated ? { truncated: `looked at the first ${SWEEP_MAX_ENTRIES} entries only` } : {}),
    },
  };
}
