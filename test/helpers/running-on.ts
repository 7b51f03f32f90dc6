import { expect } from 'vitest';
import { processState } from '../../src/process/proc.js';
import type { TestWorkload } from './workload.js';

/** Asserts that the dirtier runs on after a CRIU that was killed: not stopped, writing, its memory intact. */
export async function expectRunningOn(workload: TestWorkload): Promise<void> {
  const before = (await workload.read()).progress.length;
  const output = await workload.waitForProgress(5, 5000);
  expect(['R', 'S']).toContain(await processState(workload.pid));
  expect(output.corrupt).toEqual([]);
  const fresh = output.progress.slice(before);
  expect(fresh.at(-1)!.writes).toBeGreaterThan(fresh[0]!.writes);
}
