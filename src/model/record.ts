import type { Band, DecisionKind } from './policy.js';

export type CheckpointMode = 'pre-dump' | 'dump' | 'full' | 'delta';

/** The mode a record names: a real checkpoint mode, or 'sim' for a simulated checkpoint (src/sim). */
export type RecordMode = CheckpointMode | 'sim';

/**
 * The records.jsonl format version. 2 added `schema`, `policy`, `band` and `chain_start`; version 1 lines
 * (no `schema` key) are still read; 3 added `probe` (src/loop/record-reader.ts).
 */
export const RECORD_SCHEMA = 3;

/** The band a decision was taken against, as a record carries it (a reload can change it mid-run). */
export interface RecordBand {
  lmin_bytes: number;
  lmax_bytes: number;
  min_ms: number;
  max_ms: number;
}

/** One line of records.jsonl: everything known about one checkpoint and the decision taken after it. */
export interface CheckpointRecord {
  schema: typeof RECORD_SCHEMA;
  seq: number;
  /** ISO-8601 wall-clock start of the checkpoint. */
  start: string;
  mode: RecordMode;
  /** The policy kind that took the decision. */
  policy: string;
  band: RecordBand;
  /**
   * The first link of a chain in an incremental mode: a full checkpoint that measures no dirty set, so its
   * size is not shown to the policy (never true in mode full, where every checkpoint is the whole memory).
   */
  chain_start: boolean;
  interval_ms: number;
  next_interval_ms: number;
  /** Start to start since the previous checkpoint of this run; null for the run's first. */
  elapsed_ms: number | null;
  decision: DecisionKind;
  reason: string;
  pages_scanned: number;
  pages_written: number;
  pages_skipped_parent: number;
  shpages_written: number;
  size_bytes: number;
  frozen_us: number;
  criu_wall_ms: number;
  supervisor_overhead_ms: number;
  overrun: boolean;
  dir: string;
  parent: string | null;
  chain: string;
  /** Delta mode: what CRIU itself wrote, the rewrite's time and how shared memory was handled. */
  criu_pages_written?: number;
  delta_ms?: number;
  shmem?: string;
  /**
   * Delta mode with compaction: the compaction that finished since the previous checkpoint (in the background,
   * while the workload ran): the link flattened, how many links it replaced, the bytes it wrote and its time.
   */
  compacted?: { name: string; links: number; bytes_written: number; ms: number };
  /**
   * The dirty-size probe's word on when this checkpoint started (null: the probe was off, or the start was
   * due at once): `aim` (the estimate reached the aim before the deadline), `floor` (it reached lmin after
   * the deadline), `deadline` or `max` (time ran out), with the reading it started on, the estimate, and the
   * learned ratio of bytes stored per byte read that made it (a workload that also reads learns < 1).
   */
  probe: { trigger: ProbeTrigger; reading_bytes: number; estimate_bytes: number; ratio: number } | null;
  [extra: string]: unknown;
}

/**
 * A checkpoint's numbers, without the record's texts: what summaries and scores are computed from. The loop
 * builds these for every checkpoint; a full CheckpointRecord only when someone keeps or logs records.
 */
export interface CheckpointFacts {
  seq: number;
  /** Wall-clock start, ms since the epoch (the record's `start`). */
  startMs: number;
  /** The band the decision was taken against. */
  band: Band;
  chainStart: boolean;
  intervalMs: number;
  nextIntervalMs: number;
  /**
   * Time since the previous checkpoint started, ms; NaN for a run's first (the record's null). A number, never
   * null: the loop rewrites one facts object per checkpoint, and V8 keeps a field that may hold null as a pointer,
   * each new fractional number a heap object of its own.
   */
  elapsedMs: number;
  decision: DecisionKind;
  pagesWritten: number;
  sizeBytes: number;
  frozenUs: number;
  criuWallMs: number;
  supervisorOverheadMs: number;
  overrun: boolean;
  /** Bytes written by the compaction that finished since the previous checkpoint, or null if none did. */
  compactedBytes: number | null;
  /** Why the probe started this checkpoint, or null (no probe, or the start was due at once). */
  probeTrigger: ProbeTrigger | null;
}

/** Why a probed wait ended (src/loop/probe-rule.ts). */
export type ProbeTrigger = 'aim' | 'floor' | 'deadline' | 'max';
