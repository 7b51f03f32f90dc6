import { expect } from 'vitest';
import { criuLogTail } from '../../src/criu/exec.js';
import type { CriuLocation } from '../../src/criu/locate.js';
import { restore } from '../../src/criu/restore.js';
import { waitFor } from './wait.js';
import { killAndWait, type TestWorkload } from './workload.js';

/**
 * Kills the bundled dirtier, restores `dir` with CRIU alone and waits for the restored process's reports. The
 * dirtier checks every page of its memory against its own running sum at each report: a stale or foreign page
 * is reported CORRUPT.
 */
export async function restoreAndCheck(
  criu: CriuLocation,
  dir: string,
  live: TestWorkload,
): Promise<{ corrupt: string[]; resumedAt: number }> {
  await killAndWait(live.pid);
  const linesBefore = (await live.read()).progress.length;
  const restored = await restore(criu, { imagesDir: dir });
  expect(restored.exitCode, await criuLogTail(restored.logFile)).toBe(0);
  // Either it reports on (with its pages checked at each report) or it finds a wrong page and says CORRUPT.
  const output = await waitFor(
    'the restored workload to report',
    async () => {
      const now = await live.read();
      return now.corrupt.length > 0 || now.progress.length >= linesBefore + 3 ? now : undefined;
    },
    20_000,
  );
  return { corrupt: output.corrupt, resumedAt: output.progress[linesBefore]?.writes ?? -1 };
}
