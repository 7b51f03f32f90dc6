import { join } from 'node:path';
import { runCriu, type CriuRun } from './exec.js';
import type { CriuLocation } from './locate.js';

/** The CRIU operations remusd runs for a checkpoint: pre-dump, incremental dump, or a full dump. */
export type DumpKind = 'pre-dump' | 'dump' | 'full';

export interface DumpRequest {
  kind: DumpKind;
  pid: number;
  /** Where CRIU writes the images (absolute). */
  imagesDir: string;
  /** The previous checkpoint's directory relative to imagesDir (e.g. "../000012"), for pre-dump and dump. */
  parent?: string | undefined;
  logLevel?: number;
  extraArgs?: readonly string[];
  timeoutMs?: number;
  /** Aborting it stops CRIU (see runCriu). */
  signal?: AbortSignal;
  /** CRIU at SCHED_FIFO with this priority (src/criu/realtime.ts). */
  realtimePriority?: number | undefined;
}

/** The argument vector for one checkpoint (without -o, which runCriu adds). */
export function dumpArgv(request: DumpRequest): string[] {
  const argv = [request.kind === 'pre-dump' ? 'pre-dump' : 'dump', '-t', String(request.pid), '-D', request.imagesDir];
  if (request.kind !== 'pre-dump') argv.push('--leave-running');
  if (request.kind !== 'full') {
    argv.push('--track-mem');
    // CRIU resolves --prev-images-dir relative to the images dir and links it as `parent`.
    if (request.parent !== undefined) argv.push('--prev-images-dir', request.parent);
  }
  argv.push(`-v${request.logLevel ?? 2}`);
  return [...argv, ...(request.extraArgs ?? [])];
}

/** Runs one checkpoint of the process. The log goes to criu.log inside the images dir. */
export async function dump(criu: CriuLocation, request: DumpRequest): Promise<CriuRun> {
  return runCriu(criu, dumpArgv(request), {
    logFile: join(request.imagesDir, 'criu.log'),
    timeoutMs: request.timeoutMs,
    signal: request.signal,
    realtimePriority: request.realtimePriority,
    workloadPid: request.pid,
  });
}
