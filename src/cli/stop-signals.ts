import type { Logger } from 'pino';
import { EXIT } from './exit-codes.js';

/**
 * The stop every long-running command shares: the first SIGINT or SIGTERM aborts the controller (the command
 * finishes what is in progress: CRIU is never interrupted), a second one exits at once. Returns the detach.
 */
export function stopOnSignals(
  controller: AbortController,
  log?: Logger,
  inProgress = 'the work in progress',
): () => void {
  let signals = 0;
  const onStop = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      // CRIU runs with its stdio in files and finishes on its own; the workload is thawed by it. A lease held
      // is not released: the fence's watchdog sees remusd gone and fences the workload (src/fence/watchdog.c).
      log?.warn(`${signal} again: exiting now`);
      process.exit(EXIT.interrupted);
    }
    log?.info(`${signal}: stopping after ${inProgress}`);
    controller.abort(new Error(signal));
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  return () => {
    process.off('SIGINT', onStop);
    process.off('SIGTERM', onStop);
  };
}

/** An AbortSignal that fires on the first SIGINT or SIGTERM; a second one exits at once (ship, backup, failover). */
export function stopSignal(): AbortSignal {
  const controller = new AbortController();
  stopOnSignals(controller);
  return controller.signal;
}
