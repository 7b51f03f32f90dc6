import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { openRecordsFile, type RecordSink } from '../loop/records.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { errorCode, errorMessage } from '../fs/error-code.js';

/**
 * The records file, checked at the start (a directory, /dev/full or an unwritable path is a user error
 * then); a record that cannot be written later (a full disk) is logged and the loop goes on: losing a
 * record must not stop protecting the workload.
 */
export function openRecords(path: string, rotation: Config['records'], log: Logger, onLost: () => void): RecordSink {
  let sink: RecordSink;
  try {
    sink = openRecordsFile(path, rotation);
  } catch (error) {
    const code = errorCode(error);
    const message = errorMessage(error);
    throw new UserError(
      `records file ${path}: cannot write there (${code === 'ENOTREG' ? message : (code ?? message)})`,
      EXIT.usage,
    );
  }
  let lost = 0;
  return {
    append(record) {
      try {
        sink.append(record);
        if (lost > 0)
          log.warn({ records_file: path, lost }, `records file writable again after ${lost} lost record(s)`);
        lost = 0;
      } catch (error) {
        lost += 1;
        onLost();
        const code = errorCode(error);
        const message = errorMessage(error);
        log.error(
          { records_file: path, seq: record.seq, error: code ?? message, lost },
          `RECORD LOST: cannot append checkpoint ${record.seq} to ${path} (${code ?? message}); checkpoints go on`,
        );
      }
    },
    close: () => sink.close(),
  };
}
