import { readFileSync } from 'node:fs';
import { unsafeToKillCriu } from '../../src/process/criu-safe-point.js';
import { snapshotProcess } from '../../src/process/leftovers-snapshot.js';
import { startWorkload, type TestWorkload } from './workload.js';

/** A dump caught with CRIU stopped (SIGSTOP) while a thread of the workload is in a syscall CRIU injected. */
export interface Caught<T> {
  workload: TestWorkload;
  criuPid: number;
  /** The dump, as startDump returned it: it ends once CRIU is continued or killed. */
  dumping: Promise<T>;
}

/**
 * Starts dumps (startDump) of fresh 16 MiB dirtiers until one is caught in an injected syscall with CRIU
 * stopped there, and the snapshot confirms the danger (unsafeToKillCriu). The watcher caught 8 of 10 dumps
 * here; 12 attempts make a miss in all of them negligible.
 */
export async function catchCriuInInjectedSyscall<T>(startDump: (pid: number) => Promise<T>): Promise<Caught<T>> {
  const misses: string[] = [];
  for (let attempt = 0; attempt < 12; attempt++) {
    const workload = await startWorkload(['--mib', '16', '--phases', '2000:1000000', '--report-ms', '20']);
    const dumping = startDump(workload.pid);
    const criuPid = await signalTracerInInjectedSyscall(workload.pid, 'SIGSTOP');
    // Stopped, CRIU holds the workload where it was: the snapshot must show the danger, or the stop came late.
    const unsafe = criuPid === undefined ? [] : unsafeToKillCriu(await snapshotProcess(workload.pid));
    if (criuPid !== undefined && unsafe.length > 0) return { workload, criuPid, dumping };
    misses.push(criuPid === undefined ? 'no moment seen' : 'moved on before the stop');
    if (criuPid !== undefined) process.kill(criuPid, 'SIGCONT');
    await dumping;
    await workload.stop();
  }
  throw new Error(`CRIU was never caught in an injected syscall in 12 dumps: ${misses.join(', ')}`);
}

/**
 * Watches a process that CRIU is dumping until one of its threads is in a syscall CRIU injected (its pc at
 * the start of the first executable mapping, where compel pokes the syscall and the int3 after it), then
 * sends `signal` to its tracer (CRIU) at once and returns the tracer's pid. Undefined when the dump ended
 * (no tracer for 200 ms after one was seen) or timeoutMs passed without such a moment.
 *
 * It reads /proc in a tight loop (a few µs a read) and yields to the event loop only every 256 reads: the
 * moment lasts from well under a millisecond to a few, as long as CRIU takes to notice the int3.
 */
export async function signalTracerInInjectedSyscall(
  pid: number,
  signal: NodeJS.Signals,
  timeoutMs = 10_000,
): Promise<number | undefined> {
  const spot = injectionSpot(pid);
  const deadline = performance.now() + timeoutMs;
  let tracerSeenAt: number | undefined;
  for (let reads = 1; performance.now() < deadline; reads++) {
    const pc = programCounter(pid);
    if (pc !== undefined && pc >= spot && pc < spot + 16) {
      const tracer = tracerOf(pid);
      if (tracer > 0) {
        process.kill(tracer, signal);
        return tracer;
      }
    }
    if (reads % 256 === 0) {
      const tracer = tracerOf(pid);
      if (tracer > 0) tracerSeenAt = performance.now();
      else if (tracerSeenAt !== undefined && performance.now() - tracerSeenAt > 200) return undefined;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
  return undefined;
}

// The start of the first executable mapping: compel's find_executable_area.
function injectionSpot(pid: number): number {
  const line = readFileSync(`/proc/${pid}/maps`, 'utf8')
    .split('\n')
    .find((entry) => entry.split(' ')[1]?.[2] === 'x');
  if (line === undefined) throw new Error(`pid ${pid} has no executable mapping`);
  return Number.parseInt(line, 16);
}

function programCounter(pid: number): number | undefined {
  try {
    const fields = readFileSync(`/proc/${pid}/syscall`, 'utf8').trim().split(' ');
    return fields.length >= 3 ? Number(fields.at(-1)) : undefined;
  } catch {
    return undefined;
  }
}

function tracerOf(pid: number): number {
  try {
    return Number(/^TracerPid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
