import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import { killTree } from '../process/tree.js';
import { CHRT } from './realtime.js';
import type { CriuLocation } from './locate.js';
import { killCriuSafely, type CriuKill } from './safe-kill.js';

export interface CriuRun {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
  /** When it timed out: the pids killed with it (CRIU, its helpers, the tasks a restore had forked). */
  killed?: number[];
  /** When it was killed while dumping a workload: how long it took to reach a safe point, or why none was reached. */
  safePoint?: Omit<CriuKill, 'killed'>;
  wallMs: number;
  /** Path of the file that holds CRIU's own log (-o) */
  logFile: string;
  /** Why CRIU could not be started at all (e.g. its binary vanished), when that happened. */
  startError?: string;
}

export interface CriuRunOptions {
  /** CRIU's -o log, absolute. CRIU's own stdout/stderr are appended to `${logFile}.out`. */
  logFile: string;
  timeoutMs?: number;
  /** Aborting it ends CRIU as a timeout does (a caller that has seen enough in the log). */
  signal?: AbortSignal;
  /** Descriptors CRIU inherits as fd 3, 4, … (for --inherit-fd fd[3]:KEY). */
  extraFds?: readonly number[];
  /** Run CRIU at SCHED_FIFO with this priority (1–99), through `chrt` (src/criu/realtime.ts says why). */
  realtimePriority?: number | undefined;
  /** The process CRIU dumps: a kill waits for a moment that does not kill it too (src/criu/safe-kill.ts). */
  workloadPid?: number | undefined;
}

/**
 * Runs CRIU with the given arguments and waits for it. CRIU's stdio goes to a file, never to a pipe:
 * if remusd is killed mid-dump, CRIU must not die of SIGPIPE while the workload is frozen; it finishes and
 * thaws the workload on its own.
 *
 * This is Node's own spawn with a file descriptor, not execa: execa's `{file}` target (the only file target
 * its types allow) grew the long-lived supervisor's resident memory by ~14 MiB over a few hundred runs,
 * where a plain descriptor costs nothing (`npm run bench supervisor`).
 *
 * CRIU runs in its own session and process group (detached), and a timeout kills its whole tree at once
 * with SIGKILL (src/process/tree.ts): CRIU blocks every other signal while it works (SigBlk in
 * /proc/PID/status), and a restore's forked tasks leave its group. A dump's workload is not in the tree
 * (ptrace does not change its parent): the kernel detaches it when CRIU dies. But a CRIU killed while the
 * workload runs a syscall CRIU injected leaves it a SIGTRAP that kills it (seen here: 1 kill in 16 at 80 ms
 * into a 128 MiB dump), so with `workloadPid` the kill waits for a safe point first (safe-kill.ts).
 */
export async function runCriu(criu: CriuLocation, args: string[], options: CriuRunOptions): Promise<CriuRun> {
  const out = openSync(`${options.logFile}.out`, 'a');
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    const stdio: ('ignore' | number)[] = ['ignore', out, out, ...(options.extraFds ?? [])];
    const argv = [...args, '-o', options.logFile];
    const child =
      options.realtimePriority === undefined
        ? spawn(criu.command, argv, { stdio, detached: true })
        : spawn(CHRT, ['--fifo', String(options.realtimePriority), criu.command, ...argv], { stdio, detached: true });
    let killing: Promise<CriuKill> | undefined;
    const kill = () => {
      if (child.pid === undefined || killing !== undefined) return;
      const { workloadPid } = options;
      killing =
        workloadPid === undefined
          ? killTree(child.pid).then((killed) => ({ killed, waitedMs: 0, unsafe: [], firstLook: [] }))
          : killCriuSafely(child.pid, workloadPid);
    };
    const timer = setTimeout(kill, timeoutMs);
    options.signal?.addEventListener('abort', kill, { once: true });
    const { code, signal, startError } = await new Promise<{
      code: number | null;
      signal: NodeJS.Signals | null;
      startError?: string;
    }>((resolve) => {
      // A CRIU that cannot be started is a failed run like any other, not a crash of the supervisor.
      child.once('error', (error) => resolve({ code: null, signal: null, startError: error.message }));
      child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    }).finally(() => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', kill);
    });
    const killed = await killing;
    return {
      exitCode: code ?? undefined,
      signal: signal ?? undefined,
      timedOut: killed !== undefined,
      ...(killed === undefined ? {} : { killed: killed.killed }),
      ...(killed === undefined || options.workloadPid === undefined
        ? {}
        : { safePoint: { waitedMs: killed.waitedMs, unsafe: killed.unsafe, firstLook: killed.firstLook } }),
      wallMs: performance.now() - started,
      logFile: options.logFile,
      ...(startError === undefined ? {} : { startError }),
    };
  } finally {
    closeSync(out); // the child has its own copy
  }
}

/** Runs CRIU for a short query (--version, check) and returns its combined output. */
export async function queryCriu(criu: CriuLocation, args: string[]): Promise<{ exitCode: number; output: string }> {
  const result = await execa(criu.command, args, { reject: false, all: true, stdin: 'ignore', timeout: 60_000 });
  return { exitCode: result.exitCode ?? -1, output: result.all ?? '' };
}

/** How a CRIU run that did not exit with 0 ended, in words ("timed out after 3000 ms; its whole tree was killed (…)"). */
export function describeCriuEnd(run: CriuRun): string {
  if (run.startError !== undefined) return `could not be started (${run.startError})`;
  if (run.timedOut) {
    const killed = run.killed ?? [];
    const tree = `its whole tree was killed (${killed.length} process${killed.length === 1 ? '' : 'es'}: pids ${killed.join(', ')})`;
    return `timed out after ${Math.round(run.wallMs)} ms; ${tree}${safePointText(run.safePoint)}`;
  }
  if (run.signal !== undefined) return `was killed by ${run.signal}`;
  return `exited with ${run.exitCode}`;
}

// Where the workload was when CRIU was killed, for describeCriuEnd.
function safePointText(safePoint: CriuRun['safePoint']): string {
  if (safePoint === undefined) return '';
  if (safePoint.unsafe.length > 0) return `, at an unsafe point for the workload: ${safePoint.unsafe.join('; ')}`;
  const moved = safePoint.firstLook.length > 0 ? ` after ${safePoint.firstLook.join('; ')}` : '';
  return ` at a safe point for the workload (reached in ${Math.round(safePoint.waitedMs)} ms${moved})`;
}

/**
 * What CRIU said, for error messages: the error lines of its log (or, when it logged no error, as after a
 * timeout, its last lines: where it was), then the last lines of its stdout and stderr. Never empty: a log
 * with nothing in it is named and said to be empty.
 */
export async function criuLogTail(logFile: string, lines = 12): Promise<string> {
  const log = await meaningfulLines(logFile);
  const out = await meaningfulLines(`${logFile}.out`);
  const parts: string[] = [];
  if (log === undefined) parts.push(`(no CRIU log at ${logFile})`);
  else if (log.length === 0) parts.push(`(CRIU's log ${logFile} is empty)`);
  else {
    const errors = log.filter((line) => /Error|BUG/.test(line));
    parts.push((errors.length > 0 ? errors : log).slice(-lines).join('\n'));
  }
  if (out !== undefined && out.length > 0)
    parts.push(`CRIU's stdout/stderr (${logFile}.out):\n${out.slice(-lines).join('\n')}`);
  return parts.join('\n');
}

// A file's non-empty lines, without the rlimit notice that every run with the private prefix logs; undefined if unreadable.
async function meaningfulLines(path: string): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  return text.split('\n').filter((line) => line.trim() !== '' && !line.includes("rlimit: Can't setup RLIMIT_NOFILE"));
}
