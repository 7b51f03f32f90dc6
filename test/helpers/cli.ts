import { writeFile } from 'node:fs/promises';
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

/** Writes `yaml` as ROOT/remusd.yaml and runs `remusd run` on it against pid until `count` checkpoints are taken. */
export async function runCheckpoints(root: string, yaml: string, pid: number, count: number, extraArgs: string[] = []) {
  const config = join(root, 'remusd.yaml');
  await writeFile(config, yaml);
  return runCli(['run', '--config', config, '--pid', String(pid), '--max-checkpoints', String(count), ...extraArgs]);
}
