import { readFile } from 'node:fs/promises';

/** The fields of /proc/PID/stat after the command name (state first), or undefined when the process is gone. */
async function statFields(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces or parentheses: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The one-letter state of a process from /proc/PID/stat (R, S, D, T, t, Z, X…), or undefined when it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  return (await statFields(pid))?.[0];
}

/** True while the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The session id of a process (field 6 of /proc/PID/stat), or undefined when it is gone. */
export async function sessionId(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  return fields === undefined ? undefined : Number(fields[3]);
}

/**
 * When a process started, in clock ticks since boot (field 22 of /proc/PID/stat), or undefined when it is
 * gone. A pid and its start time name one process for good: a recycled pid has a later start time.
 */
export async function startTime(pid: number): Promise<number | undefined> {
  const fields = await statFields(pid);
  return fields === undefined ? undefined : Number(fields[19]);
}
