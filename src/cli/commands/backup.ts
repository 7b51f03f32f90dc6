import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatEndpoint, isLoopback, parseEndpoint } from '../../replicate/address.js';
import { startReceiver } from '../../replicate/receiver.js';
import { UserError } from '../errors.js';
import { createLogger } from '../logger.js';
import { replicationLog, stopSignal } from './replication-log.js';

interface BackupArgs {
  dir: string;
  listen: string;
  keep: number;
  allowRemote: boolean;
}

/** `remusd backup`: receives checkpoints from `remusd ship` into a directory `remusd failover` restores from. */
export const backupCommand: CommandModule<object, BackupArgs> = {
  command: 'backup',
  describe: 'Receive checkpoints from `remusd ship` and keep the newest ones ready for `remusd failover`',
  builder: (yargs: Argv) =>
    yargs
      .option('dir', { type: 'string', demandOption: true, describe: "The backup's images directory" })
      .option('listen', { type: 'string', default: '127.0.0.1:7070', describe: 'HOST:PORT to listen on (port 0: any free port)' })
      .option('keep', { type: 'number', default: 5, describe: 'Complete checkpoints kept (plus every ancestor they need)' })
      .option('allow-remote', { type: 'boolean', default: false, describe: 'Allow listening on a non-loopback address (the protocol has no authentication)' })
      .example('$0 backup --dir /var/lib/remusd/backup --listen 127.0.0.1:7070', '') as unknown as Argv<BackupArgs>,
  handler: async (args: ArgumentsCamelCase<BackupArgs>) => {
    const listen = parseEndpoint(args.listen);
    if (!listen.ok) throw new UserError(`--listen: ${listen.error}`, 2);
    if (!isLoopback(listen.value.host) && !args.allowRemote) {
      throw new UserError(`--listen ${args.listen} is not a loopback address; the protocol has no authentication or encryption, so pass --allow-remote to expose it (on a trusted network only)`, 2);
    }
    if (!Number.isInteger(args.keep) || args.keep < 1) throw new UserError('--keep must be an integer ≥ 1', 2);
    const logger = await createLogger();
    const log = replicationLog(logger);
    const signal = stopSignal();
    const receiver = await startReceiver(listen.value, { root: resolve(args.dir), keep: args.keep, log }).catch((error: Error) => {
      throw new UserError(`cannot listen on ${args.listen}: ${error.message}`);
    });
    process.stdout.write(`listening on ${formatEndpoint(receiver.endpoint)}\n`);
    log.info(`backup listening on ${formatEndpoint(receiver.endpoint)}`, { dir: resolve(args.dir), keep: args.keep });
    await new Promise((resolveStop) => signal.addEventListener('abort', resolveStop, { once: true }));
    await receiver.close();
    log.info('backup stopped');
  },
};
