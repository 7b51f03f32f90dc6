// What a CRIU that ended abnormally (killed, crashed) may have left in the process it was dumping, judged
// from a snapshot of /proc (read by leftovers-snapshot.ts). Pure: the snapshot in, a verdict out.
//
// From CRIU 4.2's sources (compel/src/lib/infect.c, compel/plugins/std/infect.c, criu/pie/parasite.c):
// - the dumper PTRACE_SEIZEs every thread and PTRACE_INTERRUPTs it; when the dumper dies the kernel
//   detaches its tracees and a thread in a ptrace stop runs on, unless a group stop (State T) is in force;
// - the parasite runs in the leader as a daemon reading commands from a unix socket; on EOF (the dumper
//   died) it restores the VMA protections it changed, closes the socket and rt_sigreturns into the saved
//   frame: the thread resumes where it was, and the parasite's shared mapping (/memfd:CRIUMFD) stays mapped;
// - a command in flight when the dumper dies ends with a send to a socket (or a vmsplice to a pipe) with no
//   reader: SIGPIPE, blocked in the parasite, pending, delivered once the sigreturn restores the mask, and
//   a workload that does not ignore SIGPIPE dies of it;
// - syscalls CRIU injects (memfd_create, mmap, munmap) run from code poked over the start of the first
//   executable mapping and end in an int3: a dumper killed around them leaves a SIGTRAP with no tracer
//   (the thread dies) or the poked bytes in the workload's text.

/** One thread as /proc shows it. */
export interface ThreadSnapshot {
  tid: number;
  /** One letter of /proc/TID/stat: R, S, D, T (group stop), t (ptrace stop), Z, X. */
  state: string;
  /** TracerPid from /proc/TID/status; 0 when nobody traces it. */
  tracerPid: number;
  /** /proc/TID/wchan: where it sleeps in the kernel ("0" when running). */
  wchan: string;
  /** From /proc/TID/syscall: the syscall it is in (-1: none), undefined while it runs or when unreadable. */
  syscall: number | undefined;
  /** Its user-space instruction pointer, from the same line (undefined likewise). */
  pc: number | undefined;
}

/** The process after CRIU: gone, or its threads and what CRIU may have left in its memory. */
export type ProcessSnapshot =
  | { gone: true; pid: number }
  | {
      gone: false;
      pid: number;
      threads: ThreadSnapshot[];
      /** Lines of /proc/PID/maps that are CRIU's parasite mapping (left mapped after a killed dump). */
      parasiteMappings: string[];
      /** Where the workload's text differs from its file at the spot CRIU pokes its syscall code (undefined: same). */
      pokedText: string | undefined;
      /** Start of the first executable mapping: where CRIU pokes the syscalls it injects. */
      injectionSpot: number | undefined;
      /** [start, end) of each parasite mapping. */
      parasiteRanges: [number, number][];
    };

/** What is to be done and said about the process. */
export interface LeftoversVerdict {
  /** running: every thread runs (maybe with a leftover mapping); stopped: a group stop; traced: still held. */
  condition: 'running' | 'stopped' | 'traced' | 'dead';
  /** Threads in a group stop (State T): a SIGCONT to the process resumes them. */
  stoppedThreads: number[];
  /** Threads that something still traces, with the tracer. */
  tracedThreads: { tid: number; tracerPid: number }[];
  /** Harmless-looking traces that are still worth a warning (a leftover mapping, poked text). */
  remnants: string[];
  /** The verdict in one sentence for logs and records. */
  summary: string;
}

/**
 * Judges a snapshot. `stoppedBefore` is whether the process was in a group stop before CRIU ran (then a
 * stop is its own, not CRIU's, and is left alone).
 */
export function judgeLeftovers(snapshot: ProcessSnapshot, stoppedBefore = false): LeftoversVerdict {
  if (snapshot.gone)
    return {
      condition: 'dead',
      stoppedThreads: [],
      tracedThreads: [],
      remnants: [],
      summary: `the workload ${snapshot.pid} is gone`,
    };
  const live = snapshot.threads.filter((thread) => thread.state !== 'Z' && thread.state !== 'X');
  const remnants = [
    ...(snapshot.parasiteMappings.length === 0 ? [] : [parasiteRemnant(snapshot.parasiteMappings)]),
    ...(snapshot.pokedText === undefined ? [] : [`CRIU's injected code is left in its text: ${snapshot.pokedText}`]),
  ];
  if (live.length === 0)
    return {
      condition: 'dead',
      stoppedThreads: [],
      tracedThreads: [],
      remnants,
      summary: `the workload ${snapshot.pid} is dead (a zombie)`,
    };
  const stoppedThreads = stoppedBefore ? [] : live.filter((t) => t.state === 'T').map((t) => t.tid);
  const tracedThreads = live.filter((t) => t.tracerPid !== 0).map((t) => ({ tid: t.tid, tracerPid: t.tracerPid }));
  const condition = tracedThreads.length > 0 ? 'traced' : stoppedThreads.length > 0 ? 'stopped' : 'running';
  const parts = [`the workload ${snapshot.pid} is ${condition}`];
  if (stoppedThreads.length > 0) parts.push(`stopped threads ${stoppedThreads.join(', ')}`);
  if (tracedThreads.length > 0)
    parts.push(`traced threads ${tracedThreads.map((t) => `${t.tid} by ${t.tracerPid}`).join(', ')}`);
  parts.push(...remnants);
  return { condition, stoppedThreads, tracedThreads, remnants, summary: parts.join('; ') };
}

// The parasite's mappings in one phrase: each killed dump leaves two (its code and its data, ~0.6 MiB).
function parasiteRemnant(lines: readonly string[]): string {
  const bytes = lines
    .map((line) => (line.split(' ')[0] ?? '').split('-').map((hex) => Number.parseInt(hex, 16)))
    .reduce((sum, [start = 0, end = 0]) => sum + (end - start), 0);
  const first = lines[0]?.split(' ')[0] ?? '?';
  return `CRIU's parasite is still mapped: ${lines.length} mapping${lines.length === 1 ? '' : 's'}, ${Math.round(bytes / 1024)} KiB, from ${first}`;
}

/** Whether a /proc/PID/maps line is CRIU's parasite blob: its memfd, or the shared anonymous fallback. */
export function isParasiteMapping(line: string): boolean {
  return /\/memfd:CRIUMFD/.test(line) || (/^\S+ rwxs /.test(line) && /\/dev\/zero \(deleted\)/.test(line));
}
