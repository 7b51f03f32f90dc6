import type { DecisionKind } from './policy.js';

export type CheckpointMode = 'pre-dump' | 'dump' | 'full' | 'delta';

/** The mode a record names: a real checkpoint mode, or 'sim' for a simulated checkpoint (src/sim). */
export type RecordMode = CheckpointMode | 'sim';

/** One line of records.jsonl: everything known about one checkpoint and the decision taken after it. */
export interface CheckpointRecord {
  seq: number;
  /** ISO-8601 wall-clock start of the checkpoint. */
  start: string;
  mode: RecordMode;
  interval_ms: number;
  next_interval_ms: number;
  decision: DecisionKind;
  reason: string;
  pages_scanned: number;
  pages_written: number;
  pages_skipped_parent: number;
  size_bytes: number;
  frozen_us: number;
  criu_wall_ms: number;
  supervisor_overhead_ms: number;
  overrun: boolean;
  dir: string;
  [extra: string]: unknown;
}
