// Shared setup for the config tests: temporary directories and one-line error rendering.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { formatConfigError } from '../../src/config/errors.js';
import type { ConfigResult } from '../../src/config/load.js';

/** A fresh temporary directory, removed after the test. */
export function useTempDir(): () => Promise<string> {
  const made: string[] = [];
  afterEach(async () => {
    await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
  return async () => {
    const dir = await mkdtemp(join(tmpdir(), 'remusd-config-'));
    made.push(dir);
    return dir;
  };
}

/** The errors of a failed result, one formatted line each (fails the test on success). */
export function errorLines(result: ConfigResult): string[] {
  if (result.ok) throw new Error(`expected errors, got a valid config: ${JSON.stringify(result.config)}`);
  return result.errors.map(formatConfigError);
}
