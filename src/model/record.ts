import type { DecisionKind } from './policy.js';

export type CheckpointMode = 'pre-dump' | 'dump' | 'full' | 'delta';

/** One line of records.jsonl: everything known about one checkpoint and the decision taken after it. */
export interface CheckpointRecord {
  seq: number;
  /** ISO-8601 wall-clock start of the checkpoint. */
  start: string;
  mode: CheckpointMode;
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
