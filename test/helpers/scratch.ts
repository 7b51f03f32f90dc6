import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// Temporary directories a test file makes, removed when the file's tests end: every CI run and every rerun on a
// developer's machine used to leave hundreds of them in /tmp (one held a 512 MB sparse records file).
// REMUSD_KEEP_TEST_IMAGES=1 keeps them for a look after a failure.
const made: string[] = [];
afterAll(() => {
  if (process.env.REMUSD_KEEP_TEST_IMAGES) return;
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory under the system's temporary directory, removed after the test file. */
export async function scratchDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/** scratchDir for module scope, where a test file sets up its fixtures before any test runs. */
export function scratchDirSync(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
