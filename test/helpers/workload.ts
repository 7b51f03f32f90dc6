import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorCode, errorMessage } from '../../src/fs/error-code.js';
import { inPidNamespace, pidNamespaceInit } from '../../src/process/pid-namespace.js';
import { startSessionLeader } from '../../src/process/session-leader.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { readWorkloadOutput, type WorkloadOutput } from '../../src/workload/progress.js';
import { sleep, waitFor } from './wait.js';

export interface TestWorkload {
  pid: number;
  dir: string;
  outputPath: string;
  /** How it ended: set when the dirtier is our own child (not in a pid namespace), once it has exited. */
  ended(): { code: number | null; signal: NodeJS.Signals | null } | undefined;
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
  let end: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  if (options.pidNamespace !== true) void child.exited.then((how) => (end = how));
  const workload: TestWorkload = {
    pid,
    dir,
    outputPath,
    ended: () => end,
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
  // Its first progress line, counted from the start: waitForProgress counts from the lines already there, and
  // a dirtier with a long --report-ms that printed its first before the count was read would print no other.
  const started = async () => ((await workload.read()).progress.length >= 1 ? true : undefined);
  try {
    await waitFor(`workload ${pid} to report its first progress line`, started, 10_000, 50);
  } catch (error) {
    await workload.stop(); // the caller never gets it to stop: a dirtier left running was seen after a failure
    throw error;
  }
  return workload;
}

/**
 * SIGKILLs a process (if it is there) and waits until its pid is free. Dead is not yet free: an orphan's
 * zombie keeps its pid until PID 1 reaps it, which took 1-4 s here, and a restore of that pid fails
 * meanwhile ("Can't fork for PID: File exists"). So this waits until /proc has no trace of it, and past
 * timeoutMs throws, naming the pid and what still holds it (its state; a zombie's parent, which has not
 * reaped it), instead of returning as if the pid were free and leaving a later restore to fail.
 */
export async function killAndWait(pid: number, timeoutMs = 12_000): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (error) {
    if (errorCode(error) === 'ESRCH') return; // no process at all, not even a zombie
    throw new Error(`cannot SIGKILL pid ${pid}: ${errorMessage(error)}`, { cause: error });
  }
  const deadline = performance.now() + timeoutMs;
  while (existsSync(`/proc/${pid}`)) {
    if (performance.now() > deadline) {
      const holder = await whatHolds(pid);
      if (holder !== undefined) throw new Error(`pid ${pid} is still taken ${timeoutMs} ms after SIGKILL: ${holder}`);
    }
    await sleep(10);
  }
}

// Why pid is still in /proc, in words: its state, and for a zombie the parent that has not reaped it. Undefined
// once it is gone.
async function whatHolds(pid: number): Promise<string | undefined> {
  const status = await procStatus(pid);
  if (status === undefined) return undefined;
  const state = status.get('State') ?? '?';
  const ppid = Number(status.get('PPid'));
  const parent = await procStatus(ppid);
  const parentText = `parent pid ${ppid} (${parent?.get('Name') ?? 'gone'}, State ${parent?.get('State') ?? '?'})`;
  if (state.startsWith('Z'))
    return `${status.get('Name')} is a zombie (State ${state}) that its ${parentText} has not reaped`;
  const tracer = Number(status.get('TracerPid'));
  return (
    `${status.get('Name')} has not died (State ${state}; ${parentText}${tracer > 0 ? `; traced by pid ${tracer}` : ''}): ` +
    'a process in uninterruptible sleep (D) or in a frozen cgroup dies only once it wakes'
  );
}

/** /proc/PID/status as a map of its fields, or undefined when the process is gone. */
async function procStatus(pid: number): Promise<Map<string, string> | undefined> {
  if (!(pid > 0)) return undefined;
  const text = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  return new Map(
    text
      .split('\n')
      .map((line) => /^([^:]+):\s*(.*)$/.exec(line))
      .filter((m) => m !== null)
      .map((m) => [m[1]!, m[2]!]),
  );
}
