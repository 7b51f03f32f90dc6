import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { ensureBundledBinary } from '../../src/process/compile.js';

/** A file's page-cache pages not yet on disk, as the kernel counts them (cachestat(2)): dirty or under writeback. */
export type UnwrittenPages = (paths: readonly string[]) => number[];

/**
 * Compiles test/helpers/cachestat.c and returns a synchronous probe (so that it can run at the very moment a
 * test's hook is called). Fails with the fix on a kernel without cachestat (Linux < 6.5).
 */
export async function unwrittenPagesProbe(): Promise<UnwrittenPages> {
  const binary = await ensureBundledBinary(
    join(packageRoot(), 'test', 'helpers', 'cachestat.c'),
    'remusd-test-cachestat',
  );
  return (paths) =>
    execFileSync(binary, paths, { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map((line) => {
        const [dirty, writeback] = line.split(' ').map(Number);
        return (dirty ?? Number.NaN) + (writeback ?? Number.NaN);
      });
}
