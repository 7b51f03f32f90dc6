import type { Logger } from 'pino';
import type { ReplicationLog } from '../../replicate/events.js';

/** The replication code's log, written through the CLI's logger (message plus structured fields). */
export function replicationLog(log: Logger): ReplicationLog {
  return {
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
  };
}
