import type { Logger } from 'pino';
import type { ReplicationLog } from '../../replicate/events.js';
import { EXIT } from '../exit-codes.js';

/** The replication code's log, written through the CLI's logger (message plus structured fields). */
export function replicationLog(log: Logger): ReplicationLog {
  return {
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
  };
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM; a second one exits at once. */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return controller.signal;
}
