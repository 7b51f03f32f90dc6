import { readFile } from 'node:fs/promises';

/** The one-letter state of a process from /proc/PID/stat (R, S, D, T, t, Z, X…), or undefined when it is gone. */
export async function processState(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces or parentheses: the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** True while the process exists and is not a zombie. */
export async function isAlive(pid: number): Promise<boolean> {
  const state = await processState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** The session id of a process (field 6 of /proc/PID/stat), or undefined when it is gone. */
export async function sessionId(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[3]);
  } catch {
    return undefined;
  }
}
