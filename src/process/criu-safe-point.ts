// Whether CRIU, stopped mid-dump, can be killed now without killing the process it dumps. Pure.
//
// Measured here (scripts/kill-criu-sweep.mjs, see README "When CRIU fails"): a SIGKILL of CRIU while it has a
// thread of the workload run a syscall it injected (memfd_create, mmap, munmap: code poked at the start of the
// first executable mapping, ending in an int3) leaves that thread with a SIGTRAP and no tracer: the workload
// dies of SIGTRAP. The same holds for a non-leader thread running parasite code in trap mode. The leader
// running the parasite daemon is safe once it waits for a command: EOF makes it return into its own code.

import type { ProcessSnapshot } from './criu-leftovers.js';

// The injected syscall blob and the memfd name CRIU pokes after it: 16 bytes from the spot.
const INJECTED_BYTES = 16;
// recvfrom(2) on x86-64: the parasite daemon waiting for CRIU's next command.
const SYS_RECVFROM = 45;

/** One reason per thread that a kill of CRIU now would hurt (empty: safe, or nothing left to hurt). */
export function unsafeToKillCriu(snapshot: ProcessSnapshot): string[] {
  if (snapshot.gone) return [];
  const reasons: string[] = [];
  const inParasite = (pc: number) => snapshot.parasiteRanges.some(([start, end]) => pc >= start && pc < end);
  for (const thread of snapshot.threads) {
    if (thread.tracerPid === 0 || thread.state === 'Z' || thread.state === 'X') continue;
    const { pc, tid } = thread;
    if (pc === undefined) {
      reasons.push(`thread ${tid} is traced and running: where is unknown`);
      continue;
    }
    const spot = snapshot.injectionSpot;
    if (spot !== undefined && pc >= spot && pc < spot + INJECTED_BYTES) {
      reasons.push(`thread ${tid} is in a syscall CRIU injected (pc 0x${pc.toString(16)})`);
    } else if (inParasite(pc)) {
      const leaderWaiting = tid === snapshot.pid && thread.syscall === SYS_RECVFROM;
      if (!leaderWaiting) reasons.push(`thread ${tid} runs CRIU's parasite (pc 0x${pc.toString(16)})`);
    }
  }
  return reasons;
}
