import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

export interface SessionProcess {
  pid: number;
  /** Resolves when the process exits (only for processes we started; attached ones are polled instead). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Starts a command as a session leader (setsid: CRIU dumps a session leader without --shell-job), with
 * stdin from /dev/null and stdout/stderr appended to files. Append mode matters: a process restored from a
 * checkpoint continues writing at the end of the file instead of overwriting what came after the checkpoint.
 */
export function startSessionLeader(
  command: string,
  args: string[],
  stdoutPath: string,
  stderrPath = stdoutPath,
): SessionProcess {
  const out = openSync(stdoutPath, 'a');
  const err = stderrPath === stdoutPath ? out : openSync(stderrPath, 'a');
  try {
    // detached: true makes Node call setsid() in the child.
    const child = spawn(command, args, { detached: true, stdio: ['ignore', out, err] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    if (child.pid === undefined) {
      // spawn failed synchronously (ENOENT…): the 'error' event carries the reason.
      return { pid: -1, exited };
    }
    child.unref(); // the workload must never keep remusd alive, nor die with it
    return { pid: child.pid, exited };
  } finally {
    closeSync(out);
    if (err !== out) closeSync(err);
  }
}
