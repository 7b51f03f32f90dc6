// A real `remusd run` in miniature for the benches: the bundled dirtier (64 MiB), real CRIU in mode delta,
// the real supervisor with a fixed interval, until a number of checkpoints are recorded.
import { readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateCriu } from '../criu/locate.js';
import { readDumpStatsSync } from '../criu/images/index.js';
import { pageSize } from '../criu/probe.js';
import type { Checkpointer } from '../loop/checkpointer.js';
import { systemClock } from '../loop/clock.js';
import { criuCheckpointer } from '../loop/criu-checkpointer.js';
import type { SupervisorSettings } from '../loop/supervisor-deps.js';
import { supervise } from '../loop/supervisor.js';
import { attachedTarget } from '../loop/target.js';
import type { CheckpointRecord } from '../model/record.js';
import type { DumpStats } from '../model/stats.js';
import { FixedPolicy } from '../policy/index.js';
import { startSessionLeader } from '../process/session-leader.js';
import { ensureDirtierBinary } from '../workload/build.js';
import { startCopyReference, type CopyReference } from './copy-reference.js';

export interface SupervisedRun {
  /** Names the run in warnings. */
  name: string;
  checkpoints: number;
  intervalMs: number;
  /** Pages the dirtier rewrites per second. */
  dirtyPagesPerS: number;
  retention: SupervisorSettings['retention'];
  /** The checkpointer's option (default true); false measures what the drop removes. */
  dropChainStartCache?: boolean;
  /** CRIU at SCHED_FIFO with this priority for the checkpoints `when` picks (default: normal scheduling). */
  realtime?: { priority: number; when: (seq: number) => boolean };
  /**
   * Times copy-reference.c right before each dump (compaction is paused then, as for the dump): the machine's
   * own spread for a dump's reading and writing, beside the freeze's.
   */
  copyReference?: boolean;
}

/** One checkpoint: its record, CRIU's stats and the bytes of its directory as published (what `remusd ship` sends). */
export interface RunCheckpoint {
  record: CheckpointRecord;
  stats: DumpStats | undefined;
  dirBytes: number;
  /** copyReference: µs the copy took right before this checkpoint's dump. */
  referenceUs?: number;
}

function directoryBytes(dir: string): number {
  return readdirSync(dir)
    .map((name) => statSync(join(dir, name)))
    .filter((s) => s.isFile())
    .reduce((sum, s) => sum + s.size, 0);
}

/** Runs the supervisor on a fresh 64 MiB dirtier and returns every checkpoint, in order. */
export async function superviseDirtier(run: SupervisedRun): Promise<RunCheckpoint[]> {
  const root = await mkdtemp(join(tmpdir(), 'remusd-bench-run-'));
  const workload = startSessionLeader(
    await ensureDirtierBinary(),
    ['--mib', '64', '--phases', `${run.dirtyPagesPerS}:1000000`],
    join(root, 'workload.out'),
  );
  // Let it map and touch its 64 MiB before the first dump.
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const controller = new AbortController();
  const checkpoints: RunCheckpoint[] = [];
  let reference: CopyReference | undefined;
  const warn = (message: string) => process.stderr.write(`${run.name}: ${message}\n`);
  try {
    const size = await pageSize();
    const images = join(root, 'images');
    await mkdir(images);
    const log = { info: () => undefined, warn };
    const criuOnly = criuCheckpointer({
      criu: await locateCriu({}),
      root: images,
      pid: workload.pid,
      kind: 'full',
      delta: true,
      pageSize: size,
      log,
      ...(run.dropChainStartCache === undefined ? {} : { dropChainStartCache: run.dropChainStartCache }),
      realtimePriority: run.realtime?.priority,
      realtimeWhen: run.realtime?.when,
    });
    const referenceUs = new Map<number, number>();
    reference = run.copyReference === true ? await startCopyReference(root, 64) : undefined;
    const copy = reference?.copy;
    const checkpointer: Checkpointer =
      copy === undefined
        ? criuOnly
        : {
            ...criuOnly,
            async take(request) {
              referenceUs.set(request.seq, await copy());
              return criuOnly.take(request);
            },
          };
    await supervise({
      checkpointer,
      mode: 'delta',
      pageSize: size,
      initialIntervalMs: run.intervalMs,
      target: attachedTarget(workload.pid),
      settings: () => ({
        band: { lminBytes: 1, lmaxBytes: 2 ** 40, minMs: run.intervalMs, maxMs: run.intervalMs },
        policyKey: 'fixed',
        policy: new FixedPolicy(),
        retention: run.retention,
        criu: { logLevel: 2, extraArgs: [], timeoutMs: 120_000 },
        failures: { maxConsecutive: 3, backoffInitialMs: 200, backoffMaxMs: 1000 },
      }),
      records: undefined,
      clock: systemClock,
      signal: controller.signal,
      events: {
        ...log,
        failure: (_seq, message) => warn(message),
        record(record) {
          // Measured at once: retention may delete the directory before the next checkpoint.
          checkpoints.push({
            record,
            stats: readDumpStatsSync(record.dir),
            dirBytes: directoryBytes(record.dir),
            referenceUs: referenceUs.get(record.seq),
          });
          referenceUs.delete(record.seq);
          if (checkpoints.length >= run.checkpoints) controller.abort();
        },
      },
    });
  } finally {
    await reference?.close();
    try {
      process.kill(workload.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await rm(root, { recursive: true, force: true });
  }
  return checkpoints;
}
