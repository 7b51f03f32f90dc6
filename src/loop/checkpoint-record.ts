// The record of one checkpoint (a records.jsonl line), from what the loop (supervisor.ts) knew when it was
// done: built only when someone keeps records (remusd run, simulate --records).
import { RECORD_SCHEMA, type CheckpointFacts, type CheckpointRecord, type RecordMode } from '../model/record.js';
import { checkpointName } from '../store/checkpoints.js';
import type { CheckpointResult } from './checkpointer.js';

/** What a record says beyond the checkpoint's facts. */
export interface RecordDetails {
  mode: RecordMode;
  policy: string;
  reason: string;
  result: Extract<CheckpointResult, { ok: true }>;
  /** The chain planner's plan for this checkpoint. */
  chain: { parent: unknown; reason: string };
  deltaMs: number;
  compacted: CheckpointRecord['compacted'];
  /** Output commit's fields, when it is on. */
  outputFields: Record<string, unknown> | undefined;
  probe: CheckpointRecord['probe'];
}

/** The records.jsonl line of one checkpoint: its facts (the numbers summaries use too) and the details. */
export function checkpointRecord(facts: CheckpointFacts, details: RecordDetails): CheckpointRecord {
  const { result, chain, compacted } = details;
  const { delta } = result;
  const { band } = facts;
  return {
    schema: RECORD_SCHEMA,
    seq: facts.seq,
    start: new Date(facts.startMs).toISOString(),
    mode: details.mode,
    policy: details.policy,
    band: { lmin_bytes: band.lminBytes, lmax_bytes: band.lmaxBytes, min_ms: band.minMs, max_ms: band.maxMs },
    chain_start: facts.chainStart,
    interval_ms: facts.intervalMs,
    next_interval_ms: facts.nextIntervalMs,
    elapsed_ms: Number.isNaN(facts.elapsedMs) ? null : facts.elapsedMs,
    decision: facts.decision,
    reason: details.reason,
    pages_scanned: result.stats.pages_scanned,
    pages_written: facts.pagesWritten,
    pages_skipped_parent:
      delta === undefined ? result.stats.pages_skipped_parent : delta.totalPages - delta.changedPages,
    shpages_written: result.stats.shpages_written ?? 0,
    size_bytes: facts.sizeBytes,
    frozen_us: facts.frozenUs,
    criu_wall_ms: facts.criuWallMs,
    // remusd's own bookkeeping; a delta rewrite is checkpoint work like CRIU's and is recorded apart.
    supervisor_overhead_ms: facts.supervisorOverheadMs,
    overrun: facts.overrun,
    dir: result.dir,
    parent: result.stored.parentSeq === undefined ? null : checkpointName(result.stored.parentSeq),
    // The planner's word, unless the delta rewrite refused the planned parent (and then why).
    chain:
      chain.parent !== undefined && delta !== undefined && !delta.parentUsed
        ? `new chain: ${delta.reason}`
        : chain.reason,
    ...(delta === undefined
      ? {}
      : { criu_pages_written: result.stats.pages_written, delta_ms: round(details.deltaMs), shmem: delta.shmem }),
    ...(compacted === undefined ? {} : { compacted }),
    probe: details.probe,
    ...details.outputFields,
  };
}

/** Facts to be rewritten for each checkpoint (the loop keeps one object: see SupervisorEvents.facts). */
export function blankFacts(band: CheckpointFacts['band']): CheckpointFacts {
  return {
    seq: 0,
    startMs: 0,
    band,
    chainStart: false,
    intervalMs: 0,
    nextIntervalMs: 0,
    elapsedMs: Number.NaN,
    decision: 'hold',
    pagesWritten: 0,
    sizeBytes: 0,
    frozenUs: 0,
    criuWallMs: 0,
    supervisorOverheadMs: 0,
    overrun: false,
    compactedBytes: null,
    probeTrigger: null,
  };
}

/** Milliseconds rounded to the microsecond, as records carry them. */
export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
