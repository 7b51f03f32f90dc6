// A workload named by its pidfile (what a service manager's unit gives), checked against pid reuse: after a
// reboot or a crash the pid in a stale file may belong to an unrelated process, which remusd must not
// checkpoint (and later restore over). A process that started after the file was written is not the one
// the file names.

import { readFile, stat } from 'node:fs/promises';
import { writeFileAtomically } from '../fs/atomic-file.js';
import { errorMessage } from '../fs/error-code.js';
import { FileReadError, readRegularFile } from '../fs/regular-file.js';
import { startTime } from './proc.js';

/** Clock ticks per second of /proc/PID/stat's start time (USER_HZ: 100 on every Linux architecture remusd runs on). */
const USER_HZ = 100;
/** /proc/stat's btime has whole seconds: a start time may read up to this much late. */
const SLACK_MS = 1000;

/** The pid a pidfile names, or why it cannot be trusted. */
export type PidFileResult = { ok: true; pid: number } | { ok: false; error: string };

/** When a process started, in ms since the epoch, or undefined when it is gone. */
export async function processStartedAtMs(pid: number): Promise<number | undefined> {
  const ticks = await startTime(pid);
  if (ticks === undefined) return undefined;
  const btime = Number(/^btime (\d+)$/m.exec(await readFile('/proc/stat', 'utf8'))?.[1]);
  return btime * 1000 + (ticks * 1000) / USER_HZ;
}

/**
 * Reads a pidfile (a regular file of at most 64 bytes) and checks that its process is the one meant. A file
 * remusd wrote holds "PID STARTTIME" (/proc/PID/stat's start time in clock ticks): the process must have
 * exactly that start time. A file with a pid alone (a daemon's) is checked by time: its process must have
 * started before the file was written.
 */
export async function readPidFile(path: string): Promise<PidFileResult> {
  let text: string;
  try {
    text = (await readRegularFile(path, 64)).toString('utf8').trim();
  } catch (error) {
    return { ok: false, error: error instanceof FileReadError ? error.reason : errorMessage(error) };
  }
  const match = /^(\d+)(?: (\d+))?$/.exec(text);
  if (match === null || Number(match[1]) < 1)
    return { ok: false, error: `does not hold a pid (${JSON.stringify(text.slice(0, 20))})` };
  const pid = Number(match[1]);
  if (match[2] !== undefined) {
    const ticks = await startTime(pid);
    if (ticks === undefined) return { ok: false, error: `names pid ${pid}, which does not exist (a stale pidfile)` };
    if (ticks !== Number(match[2]))
      return {
        ok: false,
        error: `names pid ${pid}, but that process started at tick ${ticks}, not ${match[2]} as recorded: the pid was reused`,
      };
    return { ok: true, pid };
  }
  const startedAt = await processStartedAtMs(pid);
  if (startedAt === undefined) return { ok: false, error: `names pid ${pid}, which does not exist (a stale pidfile)` };
  const writtenAt = (await stat(path)).mtimeMs;
  if (startedAt > writtenAt + SLACK_MS) {
    return {
      ok: false,
      error: `names pid ${pid}, but that process started ${new Date(startedAt).toISOString()}, after the file was written (${new Date(writtenAt).toISOString()}): the pid was reused, the workload is gone`,
    };
  }
  return { ok: true, pid };
}

/** Writes "PID STARTTIME" atomically, so that readPidFile can tell the process from a later one with its pid. */
export async function writePidFile(path: string, pid: number): Promise<void> {
  const ticks = await startTime(pid);
  if (ticks === undefined) throw new Error(`pid ${pid} is gone`);
  await writeFileAtomically(path, `${pid} ${ticks}\n`, { maxBytes: 64 });
}
