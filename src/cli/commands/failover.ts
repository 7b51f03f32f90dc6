import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { describeLocation, locateCriu } from '../../criu/locate.js';
import { DirLockedError, LOCK_NAME, lockDirectory, type DirLock } from '../../loop/dir-lock.js';
import { RUNS_DIR } from '../../replicate/backup-runs.js';
import { failover, FailoverError, StaleRestoreError } from '../../replicate/failover.js';
import { previousFailover, writeFailoverReport, type FailoverReport } from '../../replicate/failover-report.js';
import { errorMessage } from '../../fs/error-code.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../json.js';
import { acquireGuard, holdRestored, mayRestoreUnder } from '../fencing.js';
import { createLogger } from '../logger.js';
import { stopSignal } from '../stop-signals.js';

/** `remusd failover`: restores the newest checkpoint that verifies, of the newest run of a backup directory. */
export const failoverCommand = defineCommand({
  command: 'failover',
  describe:
    'Verify, then restore (criu restore -d) the newest checkpoint of the newest run whose whole chain verifies, and print its pid',
  builder: (yargs: Argv) =>
    yargs
      .option('dir', { type: 'string', demandOption: true, describe: 'The backup (or any images) directory' })
      .option('run', { type: 'string', describe: 'Restore from this run (its id) instead of the newest one' })
      .option('criu', { type: 'string', describe: 'criu command to use (overrides criu.path and REMUSD_CRIU)' })
      .option('config', {
        type: 'string',
        describe:
          "A config whose network section says where to restore: a namespace of this restore's own with the service address; the host's route to it moves there after the restore (criu.path is used too). " +
          'With a fencing section, restore only once the etcd lease is held, then hold it for the restored workload',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
      .example('$0 failover --dir /var/lib/remusd/backup', '')
      .example(
        '$0 failover --dir /var/lib/remusd/backup --config backup.yaml',
        'Restore a network service into the namespace of backup.yaml',
      ),
  handler: async (args) => {
    const config = args.config === undefined ? undefined : await loadConfigOrDefaults(args.config);
    const criu = await locateCriu({ flag: args.criu, configPath: config?.criu.path ?? undefined });
    const log = { info: (message: string) => void process.stderr.write(`remusd: ${message}\n`) };
    const dir = resolve(args.dir);
    const started = { performance: performance.now(), at: new Date().toISOString() };
    const base = { reason: 'manual' as const, message: 'remusd failover, run by hand', triggered_at: started.at };
    // Never a restore without the lease: with fencing, wait (up to acquire_timeout) until this host holds it.
    const fencing = config?.fencing ?? { kind: 'none' as const };
    const logger = fencing.kind === 'none' ? undefined : await createLogger();
    const guard =
      logger === undefined ? undefined : await acquireGuard(fencing, { dir, role: 'failed-over', log: logger });
    // On a backup directory, hold its lock while verifying and restoring: a backup receiving there removes
    // nothing meanwhile (its retention waits for the lock).
    const lock = existsSync(join(dir, RUNS_DIR)) ? await lockBackup(dir) : undefined;
    let result;
    try {
      const mayRestore =
        guard === undefined || fencing.kind === 'none' ? undefined : await mayRestoreUnder(fencing, guard);
      result = await failover(criu, dir, { network: config?.network ?? undefined, log, run: args.run, mayRestore });
    } catch (error) {
      lock?.release();
      await guard?.end('release');
      const refused = error instanceof StaleRestoreError;
      await recordFailure(dir, {
        ok: false,
        ...base,
        error: errorMessage(error),
        ...(refused ? { refused: 'stale-checkpoint' as const } : {}),
      });
      if (refused) throw new UserError(error.message, EXIT.staleRestore);
      if (error instanceof FailoverError) throw new UserError(error.message);
      throw error;
    }
    lock?.release();
    await report(dir, {
      ok: true,
      ...base,
      ...(result.run === undefined ? {} : { run: result.run }),
      run_reason: result.runReason,
      checkpoint: result.name,
      chain_length: result.chainLength,
      pid: result.pid,
      trigger_to_restored_ms: Math.round(performance.now() - started.performance),
      verify_ms: result.verifyMs,
      restore_ms: result.wallMs,
      restored_at: new Date().toISOString(),
      skipped: result.skipped,
      ...(result.network === undefined ? {} : { network: result.network }),
    });
    process.stderr.write(`remusd: restoring from ${result.runReason}\n`);
    for (const skip of result.skipped) {
      process.stderr.write(`remusd: skipping ${skip.name}: ${skip.reason}; falling back to an older checkpoint\n`);
    }
    if (result.verified === 'structure')
      process.stderr.write(
        "remusd: a plain images directory has no manifests: file hashes were not verified, only the images' structure\n",
      );
    if (args.json) printJson({ ...result, criu: describeLocation(criu) });
    else {
      const where =
        result.network === undefined
          ? ''
          : ` in network namespace ${result.network.namespace} (${result.network.address} now routed to ${result.network.host_interface})`;
      process.stdout.write(
        `restored ${result.name} (chain of ${result.chainLength}) in ${result.wallMs} ms: pid ${result.pid}${where}\nrun ${result.run ?? '(unnamed)'}\n`,
      );
    }
    if (guard !== undefined && logger !== undefined) {
      guard.protect(result.pid);
      guard.note(result.name);
      process.exitCode = await holdRestored(guard, result.pid, stopSignal(), logger);
    }
  },
});

// failover.json, as the automatic failover writes it: a restore made by hand counts for "at most once" too
// (a backup started with --failover-after on this directory then refuses to arm). The restore (or refusal)
// has happened either way, so a report that cannot be written is said, not fatal.
async function report(dir: string, value: FailoverReport): Promise<void> {
  await writeFailoverReport(dir, value).catch((error: unknown) =>
    process.stderr.write(`remusd: could not write ${dir}/failover.json: ${errorMessage(error)}\n`),
  );
}

// A failure never replaces a report of a restore (nor one that cannot be read, which may be one): that
// would arm the automatic failover again for a workload restored already.
async function recordFailure(dir: string, value: FailoverReport): Promise<void> {
  const previous = await previousFailover(dir);
  if (previous.state === 'unreadable' || (previous.state === 'recorded' && previous.report.ok)) {
    process.stderr.write(`remusd: failover.json kept as it was (it records an earlier restore, or cannot be read)\n`);
    return;
  }
  await report(dir, value);
}

// The backup directory's lock, waiting (bounded) while a backup's retention pass holds it: a pass removes a
// few directories, so it is done in well under a second.
async function lockBackup(dir: string): Promise<DirLock> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return await lockDirectory(dir);
    } catch (error) {
      if (!(error instanceof DirLockedError)) throw error;
      if (Date.now() > deadline)
        throw new UserError(
          `${dir} stays locked by remusd pid ${error.holderPid} (${join(dir, LOCK_NAME)}) for over 30 s: another restore, or a backup's retention pass that hangs. Stop that process first`,
        );
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
