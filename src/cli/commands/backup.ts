import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { countOption, timerDurationOption } from '../options.js';
import { CONFIG_DEFAULTS } from '../../config/defaults.js';
import { locateCriu } from '../../criu/locate.js';
import { pageSize } from '../../criu/probe.js';
import { formatEndpoint, parseEndpoint } from '../../units/endpoint.js';
import { autoFailover, type AutoFailover } from '../../replicate/auto-failover.js';
import { previousFailover, type FailoverReport } from '../../replicate/failover-report.js';
import { DEFAULT_KEEP_RUNS, DEFAULT_RECEIVER_LIMITS, startReceiver } from '../../replicate/receiver.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { holdRestored, leaseRestoreGate } from '../fencing.js';
import { createLogger } from '../logger.js';
import { keysOption, loadKeysOption } from './key-option.js';
import { metricsEndpoint, metricsOptions, startMetrics } from './metrics-option.js';
import { packageVersion } from '../version.js';
import { replicationLog } from './replication-log.js';
import { stopSignal } from '../stop-signals.js';

/** `remusd backup`: receives checkpoints from `remusd ship` into a directory `remusd failover` restores from. */
export const backupCommand = defineCommand({
  command: 'backup',
  describe: 'Receive checkpoints from `remusd ship` and keep the newest ones ready for `remusd failover`',
  builder: (yargs: Argv) =>
    yargs
      .option('dir', { type: 'string', demandOption: true, describe: "The backup's images directory" })
      .option('listen', {
        type: 'string',
        default: '127.0.0.1:7070',
        describe: 'HOST:PORT to listen on (port 0: any free port)',
      })
      .option('keys', keysOption('backup'))
      .option('keep', {
        type: 'string',
        default: '5',
        coerce: countOption('keep'),
        describe: 'Complete checkpoints kept (plus every ancestor they need)',
      })
      .option('keep-runs', {
        type: 'string',
        default: String(DEFAULT_KEEP_RUNS),
        coerce: countOption('keep-runs'),
        describe:
          "Primary runs kept (each life of the primary's images directory is one): the newest by the primary's clock. A run still receiving and the run a failover would restore are never removed",
      })
      .option('compact-at', {
        type: 'number',
        default: CONFIG_DEFAULTS.compactAt,
        describe: "Flatten a run's delta chain here once it has this many links, as the primary does (0: never)",
      })
      .option('max-handshakes', {
        type: 'string',
        default: String(DEFAULT_RECEIVER_LIMITS.maxPending),
        coerce: countOption('max-handshakes'),
        describe:
          'TLS handshakes in progress at once; past that a new connection evicts the oldest (bounds what unauthenticated peers cost)',
      })
      .option('failover-after', {
        type: 'string',
        coerce: timerDurationOption('failover-after'),
        describe:
          'Fail over on its own (at most once): when the shipper reports the workload dead, or when nothing is heard from it for this long (e.g. 2s) after a checkpoint arrived and without a goodbye',
      })
      .option('criu', {
        type: 'string',
        describe: 'With --failover-after: criu command to restore with (overrides REMUSD_CRIU)',
      })
      .option('config', {
        type: 'string',
        describe:
          "With --failover-after: a config whose network section gives the restore a namespace of the backup's own with the service address (the host's route moves to it); criu.path is used too. " +
          'Its fencing section (etcd lease) gates the failover: no restore without the lease',
      })
      .option('keep-running', {
        type: 'boolean',
        default: false,
        describe: 'With --failover-after: keep listening after the failover instead of exiting',
      })
      .options(metricsOptions)
      .example('$0 backup --dir /var/lib/remusd/backup --listen 127.0.0.1:7070 --keys /etc/remusd/keys/backup', '')
      .example(
        '$0 backup --dir /var/lib/remusd/backup --keys /etc/remusd/keys/backup --failover-after 2s',
        'Restore automatically when the primary fails',
      ),
  handler: async (args) => {
    const listen = parseEndpoint(args.listen, { allowAnyPort: true });
    if (!listen.ok) throw new UserError(`--listen ${JSON.stringify(args.listen)} ${listen.error}`, EXIT.usage);
    // Any address: only the pair's primary gets past the TLS handshake, whichever network it comes from.
    const metricsAt = metricsEndpoint(args.metrics, args.metricsAllowRemote);
    const credentials = loadKeysOption(args.keys, 'backup');
    if (!Number.isInteger(args.compactAt) || (args.compactAt !== 0 && args.compactAt < 4))
      throw new UserError('--compact-at must be 0 (never) or an integer ≥ 4', EXIT.usage);
    const failoverAfterMs = args.failoverAfter;
    if (failoverAfterMs === undefined && (args.criu !== undefined || args.keepRunning || args.config !== undefined)) {
      throw new UserError(
        '--criu, --config and --keep-running apply to the automatic failover: give --failover-after too',
        EXIT.usage,
      );
    }
    const config = args.config === undefined ? undefined : await loadConfigOrDefaults(args.config);
    const fencing = config?.fencing ?? { kind: 'none' as const };
    if (fencing.kind !== 'none' && failoverAfterMs === undefined) {
      throw new UserError(
        'fencing gates the automatic failover: give --failover-after too (or leave fencing out of the config)',
        2,
      );
    }
    const dir = resolve(args.dir);
    // At most once, across restarts too: a directory that was failed over from stays that way.
    // A failover.json that cannot be read may record a restore: arming again could restore a second time.
    const previous = failoverAfterMs === undefined ? undefined : await previousFailover(dir);
    if (previous?.state === 'unreadable')
      throw new UserError(
        `not arming the automatic failover: ${previous.problem}. It may record a failover made already, and a second restore would run the workload twice; ` +
          'check what was restored from this directory, then move the file away to arm the automatic failover again',
        EXIT.usage,
      );
    if (previous?.state === 'recorded' && previous.report.ok) {
      const { reason, checkpoint, pid, restored_at } = previous.report;
      throw new UserError(
        `${dir} was failed over from already (${reason}, ${checkpoint} restored as pid ${pid} at ${restored_at}); ` +
          'move its failover.json away to arm the automatic failover again',
        EXIT.usage,
      );
    }
    const logger = await createLogger();
    const log = replicationLog(logger);
    const signal = stopSignal();
    // Located before listening: a backup that could not restore when the time comes must not start.
    const gate = leaseRestoreGate(fencing, dir, logger);
    const auto: AutoFailover | undefined =
      failoverAfterMs === undefined
        ? undefined
        : autoFailover({
            dir,
            criu: await locateCriu({ flag: args.criu, configPath: config?.criu.path ?? undefined }),
            afterMs: failoverAfterMs,
            log,
            network: config?.network ?? undefined,
            gate,
          });
    // Before listening for the primary: a metrics address that cannot be bound fails with nothing started.
    const metrics =
      metricsAt === undefined
        ? undefined
        : await startMetrics(metricsAt, async (host, port) =>
            (await import('../../replicate/metrics.js')).serveBackupMetrics(host, port, packageVersion()),
          );
    if (metrics !== undefined) logger.info(`metrics on http://${metrics.address}/metrics`);
    const compaction = args.compactAt === 0 ? undefined : { compactAt: args.compactAt, pageSize: await pageSize() };
    const receiver = await startReceiver(listen.value, {
      root: dir,
      keep: args.keep,
      keepRuns: args.keepRuns,
      compaction,
      log,
      credentials,
      limits: { maxPending: args.maxHandshakes },
      onEvent: auto?.observe,
      observer: metrics,
    }).catch(async (error: Error) => {
      await metrics?.close();
      throw new UserError(`cannot listen on ${args.listen}: ${error.message}`);
    });
    auto?.start(receiver);
    process.stdout.write(`listening on ${formatEndpoint(receiver.endpoint)}\n`);
    log.info(`backup listening on ${formatEndpoint(receiver.endpoint)}`, {
      dir,
      keep: args.keep,
      keep_runs: args.keepRuns,
      ...(failoverAfterMs === undefined ? {} : { failover_after_ms: failoverAfterMs }),
    });
    const stopped = new Promise<undefined>((resolveStop) =>
      signal.addEventListener('abort', () => resolveStop(undefined), { once: true }),
    );
    let report = await Promise.race([stopped, auto?.attempted ?? stopped]);
    const guard = gate?.guard();
    if (report !== undefined) {
      printReport(report);
      if (report.ok && report.pid !== undefined && guard !== undefined) {
        // Fenced failover: this backup is the primary now, for as long as it holds the lease (a restore that
        // succeeded always reports its pid).
        process.exitCode = await holdRestored(guard, report.pid, signal, logger);
        report = undefined;
      } else if (args.keepRunning) {
        log.info('--keep-running: still listening; new checkpoints are refused');
        await stopped;
        report = undefined;
      }
    }
    auto?.stop();
    await receiver.close();
    await metrics?.close();
    log.info('backup stopped');
    if (report !== undefined && !report.ok)
      throw new UserError(
        `automatic failover failed: ${report.error}`,
        report.refused === undefined ? EXIT.error : EXIT.staleRestore,
      );
  },
});

function printReport(report: FailoverReport): void {
  if (report.ok) {
    process.stdout.write(
      `failed over (${report.reason}): restored ${report.checkpoint} (chain of ${report.chain_length}) in ${report.trigger_to_restored_ms} ms from the trigger: pid ${report.pid}\n`,
    );
  } else {
    process.stdout.write(`failover (${report.reason}) failed: see the log and failover.json\n`);
  }
}
