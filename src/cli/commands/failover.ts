import { resolve } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { describeLocation, locateCriu } from '../../criu/locate.js';
import { failover, FailoverError } from '../../replicate/failover.js';
import { UserError } from '../errors.js';
import { printJson } from '../format.js';

interface FailoverArgs {
  dir: string;
  criu?: string;
  json: boolean;
}

/** `remusd failover`: restores the newest checkpoint of a backup directory whose whole chain is present. */
export const failoverCommand: CommandModule<object, FailoverArgs> = {
  command: 'failover',
  describe: 'Restore the newest checkpoint whose whole parent chain is present (criu restore -d) and print its pid',
  builder: (yargs: Argv) =>
    yargs
      .option('dir', { type: 'string', demandOption: true, describe: 'The backup (or any images) directory' })
      .option('criu', { type: 'string', describe: 'criu command to use (overrides REMUSD_CRIU)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' })
      .example('$0 failover --dir /var/lib/remusd/backup', '') as unknown as Argv<FailoverArgs>,
  handler: async (args: ArgumentsCamelCase<FailoverArgs>) => {
    const criu = await locateCriu({ flag: args.criu });
    let result;
    try {
      result = await failover(criu, resolve(args.dir));
    } catch (error) {
      if (error instanceof FailoverError) throw new UserError(error.message);
      throw error;
    }
    for (const skip of result.skipped) {
      process.stderr.write(`remusd: skipping ${skip.name}: ${skip.reason}; falling back to an older checkpoint\n`);
    }
    if (args.json) printJson({ ...result, criu: describeLocation(criu) });
    else process.stdout.write(`restored ${result.name} (chain of ${result.chainLength}) in ${result.wallMs} ms: pid ${result.pid}\n`);
  },
};
