// CRIU at SCHED_FIFO while it dumps (criu.realtime_priority).
//
// Why (issue 11, measured here: 64 MiB dirtier, mode delta, compaction, 1 s; blocks of 10 checkpoints
// alternating in one run): on this shared 2-core VM the workload's freeze was mostly CRIU waiting for CPU.
// A dump is many round trips between CRIU and its parasite in the frozen workload (one per chunk of pages
// read, then CRIU splices the chunk into the image), and under the neighbours' load each wake-up of CRIU
// queued behind them. At SCHED_FIFO CRIU runs as soon as it is woken: at load 8.6 the freeze fell from a
// median 173 ms to 64 ms and its p99 from 275 to 130 ms; CRIU's reading (memdump − memwrite) from 66 to
// 20 ms. Numbers for the 10-minute run are in README (Benchmarks).
//
// What it costs others: CRIU holds a CPU for the dump alone (tens of ms); the kernel's RT throttling
// (sched_rt_runtime_us, 0.95 s per second by default) bounds a runaway. The workload itself is frozen then.
// Node cannot set a scheduling policy, so CRIU is started through util-linux `chrt`, which execs it (the
// same pid: timeouts and the fence kill it as before).
import { execa } from 'execa';

/** util-linux chrt, looked up in PATH. */
export const CHRT = 'chrt';

/** Whether chrt can start a program at SCHED_FIFO with this priority here, and if not, why. */
export async function checkRealtime(
  priority: number,
  chrt = CHRT,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  const result = await execa(chrt, ['--fifo', String(priority), 'true'], { timeout: 10_000, reject: false });
  if (!result.failed) return { ok: true };
  const why =
    typeof result.stderr === 'string' && result.stderr.trim() !== '' ? result.stderr.trim() : result.shortMessage;
  return { ok: false, reason: `${chrt} --fifo ${priority} true failed: ${why}` };
}
