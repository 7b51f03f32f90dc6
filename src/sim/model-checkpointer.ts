// The simulator's checkpointer: a workload model and a cost model in place of CRIU, on the virtual clock.
// The loop (src/loop/supervisor.ts) cannot tell it from CRIU: it plans chains, applies retention, compacts
// (through the ModelCompactor this comes with, in mode delta) and asks the policy exactly as in `remusd run`.

import type { StoredCheckpoint } from '../store/chain.js';
import type { Checkpointer } from '../loop/checkpointer.js';
import type { CompactionRunner } from '../loop/compactor.js';
import { checkpointName } from '../store/checkpoints.js';
import type { Clock } from '../loop/clock.js';
import { checkpointCost, type CostModel } from './cost.js';
import { ModelCompactor } from './model-compactor.js';
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
}

/** The model checkpointer, and its compactor when compaction is modelled. */
export type ModelCheckpointer = Checkpointer & { compactor: CompactionRunner | undefined };

/**
 * A checkpoint at virtual time t finds the pages the workload dirtied since the previous checkpoint started
 * (the dirtier keeps writing while frozen and catches up on wall time, so only start-to-start times matter).
 * What CRIU scans, writes and what is stored follow the cost model's mode (see the table in cost.ts): CRIU
 * scans the whole memory in every mode; in mode delta it also writes it all, and the rewrite keeps the
 * dirty pages (a chain start keeps the whole dump). The clock advances by CRIU's wall time plus the rewrite.
 */
export function modelCheckpointer(options: ModelCheckpointerOptions): ModelCheckpointer {
  const { workload, cost, clock, pageSize, memoryPages } = options;
  let lastStartMs = 0;
  // The checkpoints retention keeps, for the compactor's merges (only kept when compaction is modelled).
  const live = options.compaction === true && cost.mode === 'delta' ? new Map<number, StoredCheckpoint>() : undefined;
  const store =
    live === undefined
      ? undefined
      : { find: (seq: number) => live.get(seq), replace: (c: StoredCheckpoint) => void live.set(c.seq, c) };
  return {
    compactor: store === undefined ? undefined : new ModelCompactor({ clock, cost, pageSize, memoryPages, store }),
    // Plain values, not promises: the loop then runs a simulation without waiting (src/loop/drive.ts).
    open: () => ({ stored: [], previous: undefined }),
    take(request) {
      const startMs = clock.now();
      const dirty = workload.pages(lastStartMs, startMs);
      lastStartMs = startMs;
      const chainStart = request.parent === undefined;
      const memory = Math.max(memoryPages, dirty);
      const whole = chainStart || cost.mode === 'full';
      const criuWritten = whole || cost.mode === 'delta' ? memory : dirty;
      const kept = whole ? memory : dirty;
      // The rewrite writes the dirty pages; a chain start keeps CRIU's dump as it is (it only hashes it).
      const rewritten = cost.mode === 'delta' && !whole ? dirty : 0;
      const { frozenUs, criuWallMs, rewriteMs } = checkpointCost(cost, { scanned: memory, criuWritten, rewritten });
      // CRIU lets the workload go before the rewrite: a compaction held during the dump runs on from there.
      clock.advance(criuWallMs);
      if (request.onDumped !== undefined) void request.onDumped();
      clock.advance(rewriteMs);
      const stored: StoredCheckpoint = {
        seq: request.seq,
        name: checkpointName(request.seq),
        parentSeq: request.parent?.seq,
        sizeBytes: kept * pageSize,
      };
      live?.set(stored.seq, stored);
      return {
        ok: true,
        stored,
        dir: '',
        stats: {
          freezing_time: 0,
          frozen_time: frozenUs,
          memdump_time: 0,
          memwrite_time: 0,
          pages_scanned: memory,
          pages_skipped_parent: 0,
          pages_written: criuWritten,
        },
        criuWallMs,
        delta:
          cost.mode === 'delta'
            ? {
                changedPages: kept,
                totalPages: memory,
                elapsedMs: rewriteMs,
                parentUsed: !chainStart,
                reason: chainStart ? 'no parent requested (new chain)' : 'modelled',
                shmem: 'none (modelled)',
              }
            : undefined,
      };
    },
    remove(checkpoints) {
      if (live !== undefined) for (const c of checkpoints) live.delete(c.seq);
    },
  };
}
