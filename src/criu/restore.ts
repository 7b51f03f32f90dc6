import { join } from 'node:path';
import { runCriu, type CriuRun } from './exec.js';
import type { CriuLocation } from './locate.js';
import { networkRestoreArgs } from './network.js';

export interface RestoreRequest {
  imagesDir: string;
  logLevel?: number;
  extraArgs?: readonly string[];
  /** Where CRIU writes the restored root's pid. */
  pidFile?: string;
  /** CRIU and everything it forked are killed past this (runCriu's default: 2 minutes). */
  timeoutMs?: number;
  /** Restore into this network namespace (an open descriptor of /run/netns/NAME), with the dump's TCP connections. */
  namespaceFd?: number;
}

// CRIU's descriptor 3 is the first one after stdio: the namespace, when there is one.
const NAMESPACE_FD_IN_CRIU = 3;

/** The argument vector of a detached restore (the restored tree outlives CRIU). */
export function restoreArgv(request: RestoreRequest): string[] {
  const argv = ['restore', '-D', request.imagesDir, '-d', `-v${request.logLevel ?? 2}`];
  if (request.pidFile !== undefined) argv.push('--pidfile', request.pidFile);
  if (request.namespaceFd !== undefined) argv.push(...networkRestoreArgs(NAMESPACE_FD_IN_CRIU));
  return [...argv, ...(request.extraArgs ?? [])];
}

/** Restores the checkpoint in imagesDir (following its parent links); the log goes to restore.log there. */
export async function restore(criu: CriuLocation, request: RestoreRequest): Promise<CriuRun> {
  return runCriu(criu, restoreArgv(request), {
    logFile: join(request.imagesDir, 'restore.log'),
    ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
    ...(request.namespaceFd === undefined ? {} : { extraFds: [request.namespaceFd] }),
  });
}
