// The simulator's checkpointer: a workload model and a cost model in place of CRIU, on the virtual clock.
// The loop (src/loop/supervisor.ts) cannot tell it from CRIU: it plans chains, applies retention and asks the
// policy exactly as in `remusd run`.

import type { StoredCheckpoint } from '../store/chain.js';
import type { Checkpointer } from '../loop/checkpointer.js';
import { checkpointName } from '../store/checkpoints.js';
import type { Clock } from '../loop/clock.js';
import { checkpointCost, type CostModel } from './cost.js';
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
}

/**
 * A checkpoint at virtual time t writes the pages the workload dirtied since the previous checkpoint started
 * (the dirtier keeps writing while frozen and catches up on wall time, so only start-to-start times matter),
 * or the whole memory when it starts a chain. It advances the clock by the modelled CRIU wall time.
 */
export function modelCheckpointer(options: ModelCheckpointerOptions): Checkpointer {
  const { workload, cost, clock, pageSize, memoryPages } = options;
  let lastStartMs = 0;
  return {
    open: () => Promise.resolve({ stored: [], previous: undefined }),
    take(request) {
      const startMs = clock.now();
      const dirty = workload.pages(lastStartMs, startMs);
      lastStartMs = startMs;
      const written = request.parent === undefined ? Math.max(memoryPages, dirty) : dirty;
      const { frozenUs, criuWallMs } = checkpointCost(cost, written);
      clock.advance(criuWallMs);
      const stored: StoredCheckpoint = { seq: request.seq, name: checkpointName(request.seq), parentSeq: request.parent?.seq, sizeBytes: written * pageSize };
      return Promise.resolve({
        ok: true,
        stored,
        dir: '',
        stats: {
          freezing_time: 0,
          frozen_time: frozenUs,
          memdump_time: 0,
          memwrite_time: 0,
          pages_scanned: Math.max(memoryPages, written),
          pages_skipped_parent: 0,
          pages_written: written,
        },
        criuWallMs,
        delta: undefined,
      });
    },
    remove: () => Promise.resolve(),
  };
}
