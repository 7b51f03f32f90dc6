import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { execa } from 'execa';
import type { CriuLocation } from './locate.js';

export interface CriuRun {
  exitCode: number | undefined;
  signal: string | undefined;
  timedOut: boolean;
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
}

/**
 * Runs CRIU with the given arguments and waits for it. CRIU's stdio goes to a file, never to a pipe:
 * if remusd is killed mid-dump, CRIU must not die of SIGPIPE while the workload is frozen; it finishes and
 * thaws the workload on its own.
 *
 * This is Node's own spawn with a file descriptor, not execa: execa's `{file}` target (the only file target
 * its types allow) grew the long-lived supervisor's resident memory by ~14 MiB over a few hundred runs,
 * where a plain descriptor costs nothing (`npm run bench supervisor`).
 */
export async function runCriu(criu: CriuLocation, args: string[], options: CriuRunOptions): Promise<CriuRun> {
  const out = openSync(`${options.logFile}.out`, 'a');
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  try {
    const child = spawn(criu.command, [...args, '-o', options.logFile], { stdio: ['ignore', out, out] });
    let timedOut = false;
    let forceKill: NodeJS.Timeout | undefined;
    // A hung CRIU is asked to stop, then killed: the kernel detaches it and the workload runs on.
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    }, timeoutMs);
    const { code, signal, startError } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; startError?: string }>((resolve) => {
      // A CRIU that cannot be started is a failed run like any other, not a crash of the supervisor.
      child.once('error', (error) => resolve({ code: null, signal: null, startError: error.message }));
      child.once('exit', (exitCode, exitSignal) => resolve({ code: exitCode, signal: exitSignal }));
    }).finally(() => {
      clearTimeout(timer);
      clearTimeout(forceKill);
    });
    return {
      exitCode: code ?? undefined,
      signal: signal ?? undefined,
      timedOut,
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

/** The last lines of CRIU's log that say what went wrong (errors first), for error messages. */
export async function criuLogTail(logFile: string, lines = 12): Promise<string> {
  let text: string;
  try {
    text = await readFile(logFile, 'utf8');
  } catch {
    return `(no CRIU log at ${logFile})`;
  }
  // The rlimit line appears on every run with the private prefix and is harmless: hide it.
  const all = text.split('\n').filter((line) => line.trim() !== '' && !line.includes("rlimit: Can't setup RLIMIT_NOFILE"));
  const errors = all.filter((line) => /Error|Warn|BUG/.test(line));
  return (errors.length > 0 ? errors : all).slice(-lines).join('\n');
}
