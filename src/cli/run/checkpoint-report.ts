import type { Logger } from 'pino';
import { inBand, statusLine, type StatusTally } from '../../loop/status-line.js';
import type { Band } from '../../model/policy.js';
import type { CheckpointRecord } from '../../model/record.js';
import { writeStdout } from '../stdout.js';

/** How each checkpoint is shown: a line on stdout (--print), a live line on a terminal's stderr, or only logs. */
export interface CheckpointReport {
  /** Shows one recorded checkpoint; returns how many were recorded so far. */
  record(record: CheckpointRecord, band: Band): number;
  /** Clears the live line so that a log line does not land in the middle of it. */
  beforeLogLine(): void;
  /** Ends the live line (at the end of the run). */
  end(): void;
}

export function checkpointReport(log: Logger, printRecords: boolean): CheckpointReport {
  const tally: StatusTally = { checkpoints: 0, inBand: 0 };
  const live = process.stderr.isTTY && !printRecords;
  return {
    record(record, band) {
      tally.checkpoints += 1;
      if (inBand(record.size_bytes, band)) tally.inBand += 1;
      logCheckpoint(log, record);
      if (printRecords) writeStdout(`${statusLine(record, band, tally)}\n`);
      else if (live) process.stderr.write(`\r\x1b[K${statusLine(record, band, tally)}`);
      return tally.checkpoints;
    },
    beforeLogLine() {
      if (live) process.stderr.write('\r\x1b[K');
    },
    end() {
      if (live) process.stderr.write('\n');
    },
  };
}

// One line per checkpoint at debug, with its numbers as fields; one at info when the interval changes.
function logCheckpoint(log: Logger, record: CheckpointRecord): void {
  const fields = {
    seq: record.seq,
    mode: record.mode,
    size_bytes: record.size_bytes,
    interval_ms: record.interval_ms,
    next_interval_ms: record.next_interval_ms,
    decision: record.decision,
    frozen_us: record.frozen_us,
    criu_wall_ms: record.criu_wall_ms,
    overrun: record.overrun,
  };
  log.debug(fields, `checkpoint ${record.seq}: ${record.reason}`);
  if (record.next_interval_ms !== record.interval_ms) {
    log.info(
      { ...fields, reason: record.reason },
      `interval ${record.interval_ms} ms → ${record.next_interval_ms} ms (${record.decision}): ${record.reason}`,
    );
  }
}
