#!/usr/bin/env -S node --max-semi-space-size=1
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { CriuNotFoundError } from '../criu/locate.js';
import { backupCommand } from './commands/backup.js';
import { checkCommand } from './commands/check.js';
import { compareCommand } from './commands/compare.js';
import { configCommand } from './commands/config-check.js';
import { demoCommand } from './commands/demo.js';
import { failoverCommand } from './commands/failover.js';
import { plotCommand } from './commands/plot.js';
import { runCommand } from './commands/run.js';
import { shipCommand } from './commands/ship.js';
import { simulateCommand } from './commands/simulate.js';
import { statsCommand } from './commands/stats.js';
import { UserError } from './errors.js';

// The shebang's flag: a supervisor lives for months doing little between checkpoints, and a 1 MiB young
// generation keeps its resident memory near what it uses (88 → 77 MiB peak, `npm run bench supervisor`).
// Run it as dist/cli/main.js (executable), not `node dist/cli/main.js`, to get it.

/** The remusd command line. Errors a user can act on are printed as one line; anything else with its stack. */
export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('remusd')
    .usage('$0 <command> [options]\n\nAdaptive Remus-style checkpoint interval controller driving CRIU.')
    .command(checkCommand)
    .command(statsCommand)
    .command(runCommand)
    .command(configCommand)
    .command(demoCommand)
    .command(simulateCommand)
    .command(compareCommand)
    .command(plotCommand)
    .command(shipCommand)
    .command(backupCommand)
    .command(failoverCommand)
    .demandCommand(1, 'Name a command (see the list above).')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .fail((message, error, y) => {
      if (error) throw error;
      process.stderr.write(`${y.help()}\n\nremusd: ${message}\n`);
      process.exit(2);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((error: unknown) => {
  if (error instanceof UserError || error instanceof CriuNotFoundError || (error as { name?: string }).name === 'ImageError') {
    process.stderr.write(`remusd: error: ${(error as Error).message}\n`);
    process.exit(error instanceof UserError ? error.exitCode : 1);
  }
  process.stderr.write(`remusd: internal error: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(70);
});
