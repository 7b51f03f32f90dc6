import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatConfigError } from '../../config/errors.js';
import { loadConfigFile } from '../../config/load.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../json.js';

interface ConfigCheckArgs {
  file: string;
  json: boolean;
}

/** `remusd config check FILE`: validates a config file and shows it with every default filled in. */
export const configCommand: CommandModule = {
  command: 'config <action>',
  describe: 'Work with config files',
  builder: (yargs: Argv) =>
    yargs
      .command<ConfigCheckArgs>({
        command: 'check <file>',
        describe: 'Validate a config file; print the normalized config (sizes in bytes, durations in ms)',
        builder: (y: Argv) =>
          y
            .positional('file', { type: 'string', demandOption: true, describe: 'YAML config file' })
            .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' }) as unknown as Argv<ConfigCheckArgs>,
        handler: async (args: ArgumentsCamelCase<ConfigCheckArgs>) => {
          const result = await loadConfigFile(args.file);
          if (args.json) printJson(result.ok ? { ok: true, config: result.config } : { ok: false, errors: result.errors });
          else if (result.ok) process.stdout.write(`${args.file}: ok\n${JSON.stringify(result.config, null, 2)}\n`);
          else process.stderr.write(`${result.errors.map(formatConfigError).join('\n')}\n`);
          if (!result.ok) process.exitCode = EXIT.usage; // like run --config with the same file
        },
      })
      .demandCommand(1, 'Name an action: check'),
  handler: () => undefined,
};
