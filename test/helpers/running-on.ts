import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { processState } from '../../src/process/proc.js';
import type { TestWorkload } from './workload.js';

/** Asserts that the dirtier runs on after a CRIU that was killed: not stopped, writing, its memory intact. */
export async function expectRunningOn(workload: TestWorkload, criuLog?: string): Promise<void> {
  const before = (await workload.read()).progress.length;
  const output = await workload.waitForProgress(5, 5000).catch(async (error: Error) => {
    // Say how it was left: the timeout alone cannot tell stopped, traced, dead or still held by a parasite
    // apart. (CI's silent dirtier after a kill at 80 ms, session 6, was dead: a SIGTRAP that CRIU, killed at
    // a syscall it had injected, left behind; see README "When CRIU dies mid-dump".)
    throw new Error(`${error.message}\n${await howLeft(workload, criuLog)}`);
  });
  expect(['R', 'S']).toContain(await processState(workload.pid));
  expect(output.corrupt).toEqual([]);
  const fresh = output.progress.slice(before);
  expect(fresh.at(-1)!.writes).toBeGreaterThan(fresh[0]!.writes);
}

// The workload's /proc status lines that tell how it was left, its last output lines and CRIU's log tail.
async function howLeft(workload: TestWorkload, criuLog: string | undefined): Promise<string> {
  const status = await readFile(`/proc/${workload.pid}/status`, 'utf8').catch((error: Error) => error.message);
  const wanted = /^(State|TracerPid|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt|Threads):/;
  const lines = status.split('\n').filter((line) => wanted.test(line));
  const wchan = await readFile(`/proc/${workload.pid}/wchan`, 'utf8').catch(() => '?');
  const out = (await readFile(workload.outputPath, 'utf8').catch(() => '')).trimEnd().split('\n').slice(-3);
  const log =
    criuLog === undefined
      ? []
      : (await readFile(criuLog, 'utf8').catch((error: Error) => error.message)).trimEnd().split('\n').slice(-15);
  return [
    `workload ${workload.pid}: ${lines.join('; ') || status}; wchan ${wchan}`,
    `its last output: ${out.join(' | ')}`,
    ...(log.length > 0 ? [`CRIU log tail (${criuLog}):`, ...log] : []),
  ].join('\n');
}
