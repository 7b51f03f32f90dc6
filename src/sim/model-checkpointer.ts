// The simulator's checkpointer: a workload model and a cost model in place of CRIU, on the virtual clock.
// The loop (src/loop/supervisor.ts) cannot tell it from CRIU: it plans chains, applies retention, compacts
// (through the ModelCompactor this comes with, in mode delta) and asks the policy exactly as in `remusd run`.

import type { CheckpointResult, DeltaSummary } from '../loop/checkpointer.js';
import type { Clock } from '../loop/clock.js';
import type { DumpStats } from '../model/stats.js';
import { criuCostInto, rewriteCostMs, type CheckpointCost, type CostModel } from './cost.js';
import { CheckpointPool, ModelCheckpoint } from './model-checkpoint.js';
import { ModelCompactor } from './model-compactor.js';
import { LiveCheckpoints } from './model-store.js';
import type { ImmediateCheckpointer, ModelProbe } from './model-loop.js';
import type { Workload } from './workload.js';

/** What a modelled checkpoint depends on. */
export interface ModelCheckpointerOptions {
  workload: Workload;
  cost: CostModel;
  /** The loop's clock, which a checkpoint moves on by its modelled CRIU wall time. */
  clock: Clock & { advance(ms: number): void };
  pageSize: number;
  /**
   * The process's memory in pages: what a chain start (a full checkpoint) writes. 0: unknown, and a chain
   * start writes only what was dirtied.
   */
  memoryPages: number;
  /** Model compaction (mode delta): the checkpointer then comes with a ModelCompactor. */
  compaction?: boolean;
  /**
   * Model the dirty-size probe (when the workload can say when its writes reach a level): its reading is
   * the pages written since the last checkpoint started × (1 + readShare) (default 0): pages the workload
   * only reads set the accessed bits too.
   */
  probe?: { readShare?: number } | undefined;
  /**
   * The workload is frozen this long after each checkpoint starts (CRIU's start-up; default 0): each
   * checkpoint holds the writes from the previous freeze to its own, and says when it froze (freezeAfterMs),
   * as the CRIU checkpointer does. Less than the modelled CRIU wall time, or the freeze comes after the dump.
   */
  freezeAfterMs?: number | undefined;
}

/**
 * The model checkpointer, and its compactor when compaction is modelled. It answers at once: the simulator
 * drives the loop without waiting (model-loop.ts), and supervise() takes it as any Checkpointer.
 */
export type ModelCheckpointer = ImmediateCheckpointer;

/**
 * A checkpoint at virtual time t finds the pages the workload dirtied since the previous checkpoint started
 * (the dirtier keeps writing while frozen and catches up on wall time, so only start-to-start times matter).
 * What CRIU scans, writes and what is stored follow the cost model's mode (see the table in cost.ts): CRIU
 * scans the whole memory in every mode; in mode delta it also writes it all, and the rewrite keeps the
 * dirty pages (a chain start keeps the whole dump). The clock advances by CRIU's wall time plus the rewrite.
 */
export function modelCheckpointer(options: ModelCheckpointerOptions): ModelCheckpointer {
  const { workload, cost, clock, pageSize, memoryPages } = options;
  const freezeAfterMs = options.freezeAfterMs ?? 0;
  if (!(freezeAfterMs >= 0) || !Number.isFinite(freezeAfterMs))
    throw new RangeError(`freeze after ${freezeAfterMs} ms must be a finite number ≥ 0`);
  // When the previous checkpoint froze the workload, in a typed array rewritten in place: a closure's variable
  // holding a number is a new heap object at every change (and a write barrier to record it).
  const previousFreezeMs = new Float64Array(1);
  // The checkpoints retention keeps, for the compactor's merges (only kept when compaction is modelled).
  const live = options.compaction === true && cost.mode === 'delta' ? new LiveCheckpoints() : undefined;
  // One result (with its stats, delta and cost), rewritten by each take: the loop is done with a result before it
  // asks for the next, and keeps only `stored`, which is new each time. A simulation makes millions of these.
  const spent: CheckpointCost = { frozenUs: 0, criuWallMs: 0, rewriteMs: 0 };
  // The pages scanned and written by CRIU that spent's frozen and CRIU wall times are for. In modes delta and full
  // both are the whole memory at nearly every checkpoint, and the two affine costs (calls V8 leaves out of line,
  // each returning a boxed number: ~200 instructions of a simulated checkpoint) are then the same numbers.
  const criuWork = new Float64Array([Number.NaN, Number.NaN]);
  const stats: DumpStats = {
    freezing_time: 0,
    frozen_time: 0,
    memdump_time: 0,
    memwrite_time: 0,
    pages_scanned: 0,
    pages_skipped_parent: 0,
    pages_written: 0,
  };
  const delta: DeltaSummary | undefined =
    cost.mode === 'delta'
      ? { changedPages: 0, totalPages: 0, elapsedMs: 0, parentUsed: false, reason: '', shmem: 'none (modelled)' }
      : undefined;
  const result: Extract<CheckpointResult, { ok: true }> = {
    ok: true,
    stored: new ModelCheckpoint(0, undefined, 0),
    dir: '',
    stats,
    criuWallMs: 0,
    freezeAfterMs,
    delta,
  };
  // Checkpoints retention deleted, and links compaction replaced, made new again by the next takes and merges.
  const pool = new CheckpointPool();
  return {
    probe: options.probe === undefined ? undefined : modelProbe(workload, pageSize, options.probe.readShare ?? 0),
    compactor:
      live === undefined
        ? undefined
        : new ModelCompactor({ clock, cost, pageSize, memoryPages, store: live, checkpoints: pool }),
    // Plain values, not promises: the loop then runs a simulation without waiting (src/loop/drive.ts).
    open: () => ({ stored: [], previous: undefined }),
    take(request) {
      const freezeMs = clock.now() + freezeAfterMs;
      const dirty = workload.pages(previousFreezeMs[0] ?? 0, freezeMs);
      previousFreezeMs[0] = freezeMs;
      const chainStart = request.parent === undefined;
      const memory = Math.max(memoryPages, dirty);
      const whole = chainStart || cost.mode === 'full';
      const criuWritten = whole || cost.mode === 'delta' ? memory : dirty;
      const kept = whole ? memory : dirty;
      // The rewrite writes the dirty pages; a chain start keeps CRIU's dump as it is (it only hashes it).
      const rewritten = cost.mode === 'delta' && !whole ? dirty : 0;
      if (memory !== criuWork[0] || criuWritten !== criuWork[1]) {
        criuCostInto(spent, cost, memory, criuWritten);
        criuWork[0] = memory;
        criuWork[1] = criuWritten;
      }
      spent.rewriteMs = rewriteCostMs(cost, memory, rewritten);
      const { criuWallMs, rewriteMs, frozenUs } = spent;
      // CRIU lets the workload go before the rewrite: a compaction held during the dump runs on from there.
      clock.advance(criuWallMs);
      if (request.onDumped !== undefined) void request.onDumped();
      clock.advance(rewriteMs);
      const stored = pool.make(request.seq, request.parent?.seq, kept * pageSize);
      live?.replace(stored);
      stats.frozen_time = frozenUs;
      stats.pages_scanned = memory;
      stats.pages_written = criuWritten;
      if (delta !== undefined) {
        delta.changedPages = kept;
        delta.totalPages = memory;
        delta.elapsedMs = rewriteMs;
        delta.parentUsed = !chainStart;
        delta.reason = chainStart ? 'no parent requested (new chain)' : 'modelled';
      }
      result.stored = stored;
      result.criuWallMs = criuWallMs;
      return result;
    },
    remove(checkpoints) {
      live?.remove(checkpoints);
      // Deleted, they serve again as new ones (a bounded few: retention deletes about one per checkpoint).
      for (const c of checkpoints) pool.release(c);
    },
  };
}

/** The probe's model over a workload that can say when its writes reach a level (undefined if it cannot). */
function modelProbe(workload: Workload, pageSize: number, readShare: number): ModelProbe | undefined {
  if (!(readShare >= 0) || !Number.isFinite(readShare))
    throw new RangeError(`probe read share ${readShare} must be a finite number ≥ 0`);
  const { writesBetween } = workload;
  if (writesBetween === undefined) return undefined;
  const bytesPerPage = pageSize * (1 + readShare);
  // The reset, and the last reading's instant and pages, in a typed array rewritten in place. A wait reads
  // at rising instants: each reading adds the writes since the one before (a slot or two of the model)
  // instead of summing again from the reset (every slot since, at each of ~20 readings).
  const state = new Float64Array(3); // [reset, last instant, pages from the reset to it]
  return {
    reset(nowMs) {
      state[0] = nowMs;
      state[1] = nowMs;
      state[2] = 0;
    },
    readingAt(tMs) {
      const lastMs = state[1] ?? 0;
      // Never past the working set, as a single sum from the reset is not (writesBetween caps it).
      const pages =
        tMs >= lastMs
          ? Math.min((state[2] ?? 0) + writesBetween(lastMs, tMs), workload.workingSetPages)
          : writesBetween(state[0] ?? 0, tMs);
      if (tMs >= lastMs) {
        state[1] = tMs;
        state[2] = pages;
      }
      return pages * bytesPerPage;
    },
  };
}
