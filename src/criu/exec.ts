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
}

export interface CriuRunOptions {
  /** CRIU's -o log, absolute. CRIU's own stdout/stderr are appended to `${logFile}.out`. */
  logFile: string;
  timeoutMs?: number;
  cwd?: string;
}

/**
 * Runs CRIU with the given arguments and waits for it. CRIU's stdio goes to a file, never to a pipe:
 * if remusd is killed mid-dump, CRIU must not die of SIGPIPE while the workload is frozen; it finishes and
 * thaws the workload on its own.
 */
export async function runCriu(criu: CriuLocation, args: string[], options: CriuRunOptions): Promise<CriuRun> {
  const out = { file: `${options.logFile}.out`, append: true };
  const started = performance.now();
  const result = await execa(criu.command, [...args, '-o', options.logFile], {
      stdin: 'ignore',
      stdout: out,
      stderr: out,
      reject: false,
      timeout: options.timeoutMs ?? 120_000,
      killSignal: 'SIGTERM',
      forceKillAfterDelay: 5_000,
      cwd: options.cwd,
    });
  return {
    exitCode: result.exitCode,
    signal: result.signal,
    timedOut: result.timedOut,
    wallMs: performance.now() - started,
    logFile: options.logFile,
  };
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
