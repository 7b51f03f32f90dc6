import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { formatConfigError } from '../../config/errors.js';
import { loadConfigFile } from '../../config/load.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../json.js';

/** `remusd config check FILE`: validates a config file and shows it with every default filled in. */
export const configCommand = defineCommand({
  command: 'config <action>',
  describe: 'Work with config files',
  builder: (yargs: Argv) =>
    yargs
      .command(
        defineCommand({
          command: 'check <file>',
          describe: 'Validate a config file; print the normalized config (sizes in bytes, durations in ms)',
          builder: (y: Argv) =>
            y
              .positional('file', { type: 'string', demandOption: true, describe: 'YAML config file' })
              .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' }),
          handler: async (args) => {
            const result = await loadConfigFile(args.file);
            if (args.json)
              printJson(result.ok ? { ok: true, config: result.config } : { ok: false, errors: result.errors });
            else if (result.ok) process.stdout.write(`${args.file}: ok\n${JSON.stringify(result.config, null, 2)}\n`);
            else process.stderr.write(`${result.errors.map(formatConfigError).join('\n')}\n`);
            if (!result.ok) process.exitCode = EXIT.usage; // like run --config with the same file
          },
        }),
      )
      .demandCommand(1, 'Name an action: check'),
  handler: () => undefined,
});
