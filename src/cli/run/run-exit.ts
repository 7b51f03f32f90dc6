import type { Logger } from 'pino';
import type { FenceGuard } from '../../fence/guard.js';
import type { SupervisorExit, Target } from '../../loop/supervisor-deps.js';
import { EXIT, type ExitCode } from '../exit-codes.js';

/** The exit status of `remusd run` for how supervision ended, with the line that says what became of the workload. */
export async function runExitCode(
  exit: SupervisorExit,
  target: Target,
  stoppedWorkload: boolean,
  recordsFile: string,
  log: Logger,
): Promise<ExitCode> {
  switch (exit.reason) {
    case 'stopped':
      log.info(`stopped after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`);
      if (!stoppedWorkload && (await target.alive()))
        log.warn(`workload ${target.pid} keeps running without checkpoints`);
      return EXIT.ok;
    case 'workload-exited':
      log.info(
        `workload ${target.pid} ended (${exit.status}) after ${exit.checkpoints} checkpoint(s); records in ${recordsFile}`,
      );
      return exit.exitCode === 0 ? EXIT.ok : EXIT.workloadFailed;
    case 'failures':
      log.error(`${exit.message}\nworkload ${target.pid} keeps running WITHOUT checkpoints`);
      return EXIT.criuFailures;
  }
}

/** Fenced: the exit waits for the fence's outcome (the action it ran on the workload). */
export async function fencedExit(guard: FenceGuard): Promise<ExitCode> {
  await guard.outcome();
  await guard.reassert();
  return EXIT.fenced;
}
