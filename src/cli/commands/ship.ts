import { join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { durationOption, pidOption, sizeOption } from '../options.js';
import { FENCED_FILE } from '../../fence/marker.js';
import { parseEndpoint } from '../../units/endpoint.js';
import { isAlive } from '../../process/proc.js';
import { openShipLog, type ShipRecord } from '../../replicate/ship-log.js';
import { ShippedMarkWriter } from '../../replicate/shipped-mark-writer.js';
import { shipOnce, watchAndShip } from '../../replicate/sender.js';
import { WorkloadWatch } from '../../replicate/workload-watch.js';
import { controlSocketPath, GateReleaser } from '../../gate/control.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { createLogger } from '../logger.js';
import { keysOption, loadKeysOption } from './key-option.js';
import { metricsEndpoint, metricsOptions, startMetrics } from './metrics-option.js';
import { packageVersion } from '../version.js';
import { replicationLog } from './replication-log.js';
import { stopSignal } from '../stop-signals.js';
import { errorMessage } from '../../fs/error-code.js';
import { exists } from '../../fs/exists.js';

/** `remusd ship`: sends each new complete checkpoint of an images directory to a backup. */
export const shipCommand = defineCommand({
  command: 'ship',
  describe: 'Ship each new complete checkpoint (with the ancestors the backup lacks) to a `remusd backup`',
  builder: (yargs: Argv) =>
    yargs
      .option('images', {
        type: 'string',
        demandOption: true,
        describe: "The supervisor's images directory (its checkpoint.dir)",
      })
      .option('to', { type: 'string', demandOption: true, describe: 'The backup, HOST:PORT' })
      .option('keys', keysOption('primary'))
      .option('once', { type: 'boolean', default: false, describe: 'Ship the current latest chain, then exit' })
      .option('records', {
        type: 'string',
        describe: 'Shipping records, JSON lines (default: ship.jsonl in the images dir)',
      })
      .option('max-rate', {
        type: 'string',
        coerce: sizeOption('max-rate'),
        describe: 'Cap the file bytes sent per second (a size, e.g. 50MiB)',
      })
      .option('poll', {
        type: 'string',
        default: '20ms',
        coerce: durationOption('poll', { minMs: 1 }),
        describe:
          "How often to look for a new checkpoint (with output commit, the client's added latency includes up to this)",
      })
      .option('connect-timeout', {
        type: 'string',
        default: '10s',
        coerce: durationOption('connect-timeout'),
        describe: 'With --once: how long to keep retrying an unreachable backup',
      })
      .option('pid', {
        type: 'string',
        coerce: pidOption('pid'),
        describe:
          "The workload's pid on this machine: heartbeats and offers carry whether it is alive, and its death is reported to the backup at once (for backup --failover-after)",
      })
      .options(metricsOptions)
      .example(
        '$0 ship --images /var/lib/remusd/images --to 10.0.0.2:7070 --keys /etc/remusd/keys/primary',
        'Follow the images directory and ship as checkpoints appear',
      )
      .example(
        '$0 ship --images /var/lib/remusd/images --to 10.0.0.2:7070 --keys /etc/remusd/keys/primary --pid 4242',
        "Also report the workload's death to the backup",
      ),
  handler: async (args) => {
    const to = parseEndpoint(args.to);
    if (!to.ok) throw new UserError(`--to ${JSON.stringify(args.to)} ${to.error}`, EXIT.usage);
    let workload: WorkloadWatch | undefined;
    if (args.pid !== undefined) {
      if (args.once)
        throw new UserError('--pid watches the workload while shipping; it has no use with --once', EXIT.usage);
      // A wrong pid must not read as a dead workload: that would make the backup fail over at once.
      if (!(await isAlive(args.pid))) throw new UserError(`--pid ${args.pid}: no such process`, EXIT.usage);
      // A workload fenced by remusd run (fenced.json beside the checkpoints) is reported dead: the backup may then
      // take over as soon as it holds the lease.
      const fencedMarker = join(resolve(args.images), FENCED_FILE);
      workload = new WorkloadWatch(args.pid, 100, () => exists(fencedMarker, 'follow-links'));
    }
    const metricsAt = metricsEndpoint(args.metrics, args.metricsAllowRemote);
    if (metricsAt !== undefined && args.once)
      throw new UserError('--metrics is for a shipper that keeps running; it has no use with --once', EXIT.usage);
    const credentials = loadKeysOption(args.keys, 'primary');
    const images = resolve(args.images);
    const shipLog = openShipLog(resolve(args.records ?? join(images, 'ship.jsonl')));
    const logger = await createLogger();
    const log = replicationLog(logger);
    // prom-client is loaded only when metrics are asked for (as in remusd run).
    const metrics =
      metricsAt === undefined
        ? undefined
        : await startMetrics(metricsAt, async (host, port) =>
            (await import('../../replicate/metrics.js')).serveShipMetrics(host, port, packageVersion()),
          );
    if (metrics !== undefined) logger.info(`metrics on http://${metrics.address}/metrics`);
    // Output commit with release_after: backup-ack: each acknowledged checkpoint releases its epoch's output.
    const gate = new GateReleaser(controlSocketPath(images), (message) => log.warn(message));
    // The supervisor's compaction flattens only what the backup holds (src/store/shipped-compaction.ts).
    const mark = new ShippedMarkWriter(images, (message) => log.warn(message));
    const onAcknowledged = async (name: string, run: string) => {
      const released = await gate.release(name);
      if (released !== undefined)
        log.info(`released the output of epochs up to ${name}`, { packets: released.packets, bytes: released.bytes });
      await mark.note(run, name); // after the release: held output does not wait for it
    };
    const onShipped = (record: ShipRecord, run: string) => {
      shipLog.append(record);
      metrics?.shipped(record);
      // The newest is marked once acknowledged as a whole (above); each ancestor sent on the way is marked
      // here, so that a long catch-up lets compaction move up behind it.
      if (record.ancestor_of !== undefined) void mark.note(run, record.name);
    };
    const options = {
      images,
      log,
      onShipped,
      onAcknowledged,
      onRun: (run: string) => mark.begin(run),
      maxBytesPerSecond: args.maxRate,
      to: to.value,
      credentials,
    };
    workload?.start(); // here, so that the finally below always stops its timer
    try {
      if (args.once) {
        try {
          const shipped = await shipOnce({ ...options, connectTimeoutMs: args.connectTimeout });
          log.info(
            shipped.length === 0
              ? 'the backup has the latest checkpoint already'
              : `shipped ${shipped.length} checkpoint(s)`,
            {
              bytes: shipped.reduce((sum, r) => sum + r.bytes, 0),
            },
          );
        } catch (error) {
          throw new UserError(`ship: ${errorMessage(error)}`);
        }
      } else {
        // Held output waits for this loop to notice each checkpoint: look often (a readlink per look).
        await watchAndShip({ ...options, workload, signal: stopSignal(), pollMs: args.poll, observer: metrics });
      }
    } finally {
      workload?.stop();
      gate.close();
      shipLog.close();
      await metrics?.close();
    }
  },
});
