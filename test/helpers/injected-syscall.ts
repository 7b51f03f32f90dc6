import { readFileSync } from 'node:fs';

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
