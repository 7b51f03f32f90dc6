import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inPidNamespace, pidNamespaceInit } from '../../src/process/pid-namespace.js';
import { isAlive } from '../../src/process/proc.js';
import { startSessionLeader } from '../../src/process/session-leader.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { readWorkloadOutput, type WorkloadOutput } from '../../src/workload/progress.js';
import { sleep, waitFor } from './wait.js';

export interface TestWorkload {
  pid: number;
  dir: string;
  outputPath: string;
  read(): Promise<WorkloadOutput>;
  /** Waits until the workload has reported `count` more progress lines. */
  waitForProgress(count?: number, timeoutMs?: number): Promise<WorkloadOutput>;
  stop(): Promise<void>;
}

/**
 * Starts the bundled dirtier workload as a session leader in a fresh temp dir; with pidNamespace, as the init
 * of a pid namespace of its own (`unshare --pid --fork setsid`), and `pid` is that init's host pid.
 */
export async function startWorkload(args: string[], options: { pidNamespace?: boolean } = {}): Promise<TestWorkload> {
  const binary = await ensureDirtierBinary();
  const dir = await mkdtemp(join(tmpdir(), 'remusd-test-'));
  const outputPath = join(dir, 'workload.out');
  const command = options.pidNamespace === true ? inPidNamespace(binary, args) : { command: binary, args };
  const child = startSessionLeader(command.command, command.args, outputPath);
  const pid = options.pidNamespace === true ? await pidNamespaceInit(child.pid) : child.pid;
  const workload: TestWorkload = {
    pid,
    dir,
    outputPath,
    read: () => readWorkloadOutput(outputPath),
    async waitForProgress(count = 1, timeoutMs = 10_000) {
      const before = (await workload.read()).progress.length;
      const enough = async () => {
        const output = await workload.read();
        return output.progress.length >= before + count ? output : undefined;
      };
      return waitFor(`workload ${pid} to report ${count} more progress line(s)`, enough, timeoutMs, 50);
    },
    async stop() {
      await killAndWait(workload.pid);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await workload.waitForProgress(1);
  return workload;
}

/** SIGKILLs a process (if alive) and waits until it is gone. */
export async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 200 && (await isAlive(pid)); i++) await sleep(10);
  // Dead is not yet free: an orphan's zombie keeps its pid until PID 1 reaps it, which took 1-4 s here, and a
  // restore of that pid fails meanwhile ("Can't fork for PID: File exists"). Wait until /proc has no trace of it.
  for (let i = 0; i < 1000 && existsSync(`/proc/${pid}`); i++) await sleep(10);
}
