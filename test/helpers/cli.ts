import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { packageRoot } from '../../src/paths.js';

const CLI = join(packageRoot(), 'dist', 'cli', 'main.js');

/** Runs the built remusd CLI to completion; never throws on a non-zero exit (tests assert on it). */
export async function runCli(args: string[], options: { timeoutMs?: number; env?: Record<string, string> } = {}) {
  return execa(CLI, args, { reject: false, timeout: options.timeoutMs ?? 60_000, env: options.env, stdin: 'ignore' });
}

/** Starts the built remusd CLI in the background (detached, so a test can kill -9 it without its children). */
export function spawnCli(args: string[], options: { env?: Record<string, string> } = {}): ResultPromise {
  return execa(CLI, args, { reject: false, env: options.env, stdin: 'ignore', detached: true, cleanup: true });
}
