#!/usr/bin/env -S node --max-semi-space-size=1
import yargs, { type CommandModule } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { closest } from '../config/errors.js';
import { CriuNotFoundError } from '../criu/locate.js';
import { errorMessage } from '../fs/error-code.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { LOG_FORMATS, LOG_LEVELS } from './logger.js';
// Loaded first: an EPIPE on stdout (`remusd demo | head -1`) is a stop request, never a crash.
import './stdout.js';

// The shebang's flag: a supervisor lives for months doing little between checkpoints, and a 1 MiB young
// generation keeps its resident memory near what it uses (`npm run bench supervisor`). Run it as
// dist/cli/main.js (executable), not `node dist/cli/main.js`, to get it.

// Every command, loaded on demand: `remusd run` must not carry vega (plot), the simulator or the
// replication code in its resident memory for months. Help without a command loads them all.
// Each command has its own argument type; the registry only hands them to yargs, which erases it anyway.
type AnyCommand = CommandModule<any, any>;
const COMMANDS: Record<string, () => Promise<AnyCommand>> = {
  check: async () => (await import('./commands/check.js')).checkCommand,
  stats: async () => (await import('./commands/stats.js')).statsCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  config: async () => (await import('./commands/config-check.js')).configCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  simulate: async () => (await import('./commands/simulate.js')).simulateCommand,
  compare: async () => (await import('./commands/compare.js')).compareCommand,
  plot: async () => (await import('./commands/plot.js')).plotCommand,
  score: async () => (await import('./commands/score.js')).scoreCommand,
  calibrate: async () => (await import('./commands/calibrate.js')).calibrateCommand,
  ship: async () => (await import('./commands/ship.js')).shipCommand,
  backup: async () => (await import('./commands/backup.js')).backupCommand,
  failover: async () => (await import('./commands/failover.js')).failoverCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  keys: async () => (await import('./commands/keys.js')).keysCommand,
};

/** The remusd command line. Errors a user can act on are printed as one line; anything else with its stack. */
export async function main(argv: string[]): Promise<void> {
  const named = argv.find((arg) => !arg.startsWith('-'));
  if (named !== undefined && argv[0] === named && !(named in COMMANDS)) {
    const hint = closest(named, Object.keys(COMMANDS));
    throw new UserError(
      `unknown command ${JSON.stringify(named)}${hint ? `; did you mean ${hint}?` : ''} (remusd --help lists them)`,
      EXIT.usage,
    );
  }
  const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
  const parser = yargs(argv)
    .scriptName('remusd')
    .usage('$0 <command> [options]\n\nAdaptive Remus-style checkpoint interval controller driving CRIU.');
  for (const name of wanted) {
    const load = COMMANDS[name];
    if (load !== undefined) parser.command(await load());
  }
  await parser
    .option('log-level', {
      type: 'string',
      choices: LOG_LEVELS,
      global: true,
      describe: 'Log level (stderr); default info, or $REMUSD_LOG_LEVEL',
    })
    .option('log-format', {
      type: 'string',
      choices: LOG_FORMATS,
      global: true,
      describe:
        'Log format: auto (pretty on a terminal, journal priorities under systemd, else JSON lines), json, pretty, journal',
    })
    .middleware((args) => {
      if (typeof args.logLevel === 'string') process.env.REMUSD_LOG_LEVEL = args.logLevel;
      if (typeof args.logFormat === 'string') process.env.REMUSD_LOG_FORMAT = args.logFormat;
    })
    .demandCommand(1, 'Name a command (see the list above).')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .fail((message, error, y) => {
      // An option's own parser (src/cli/options.ts) failed: yargs rewraps its error as a YError.
      if (error?.name === 'YError')
        throw new UserError(`${error.message} (see remusd ${named ?? ''} --help)`, EXIT.usage);
      if (error) throw error;
      process.stderr.write(`${y.help()}\n\nremusd: ${message}\n`);
      process.exit(EXIT.usage);
    })
    .parseAsync();
}

main(hideBin(process.argv)).catch((error: unknown) => {
  const name = error instanceof Error ? error.name : undefined;
  if (
    error instanceof UserError ||
    error instanceof CriuNotFoundError ||
    name === 'ImageError' ||
    name === 'NetError' ||
    name === 'ParentLinkError' ||
    name === 'AtomicWriteError'
  ) {
    process.stderr.write(`remusd: error: ${errorMessage(error)}\n`);
    process.exit(error instanceof UserError ? error.exitCode : EXIT.error);
  }
  process.stderr.write(
    `remusd: internal error: ${(error instanceof Error ? error.stack : undefined) ?? String(error)}\n`,
  );
  process.exit(EXIT.internal);
});
