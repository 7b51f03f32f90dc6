import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand, type ArgsOf } from '../command.js';
import { generatePair } from '../../replicate/tls/generate.js';
import { KeyError, loadCredentials, writePair } from '../../replicate/tls/files.js';
import type { PairRole } from '../../replicate/tls/generate.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { printJson } from '../json.js';

const keysInitOptions = (y: Argv) =>
  y
    .positional('dir', { type: 'string', demandOption: true, describe: 'A new (or empty) directory' })
    .option('days', { type: 'number', default: 3650, describe: 'How long the certificates are valid' })
    .option('json', { type: 'boolean', default: false, describe: 'Print the result as JSON' });

/** `remusd keys init DIR`: the key material of one primary/backup pair. */
export const keysCommand = defineCommand({
  command: 'keys',
  describe: 'Key material for replication (ship ↔ backup over mutual TLS)',
  builder: (yargs: Argv) =>
    yargs
      .command(
        defineCommand({
          command: 'init <dir>',
          describe: "Create a pair's keys: DIR/primary for `remusd ship --keys`, DIR/backup for `remusd backup --keys`",
          builder: keysInitOptions,
          handler: keysInit,
        }),
      )
      .demandCommand(1, 'Name a keys command: init'),
  handler: () => undefined,
});

async function keysInit(args: ArgsOf<typeof keysInitOptions>): Promise<void> {
  if (!Number.isInteger(args.days) || args.days < 1)
    throw new UserError(`--days ${args.days}: must be an integer ≥ 1`, EXIT.usage);
  const dir = resolve(args.dir);
  const pair = await generatePair(args.days);
  let written;
  try {
    written = writePair(dir, pair);
    // What was written loads back as each side will load it (the same checks ship and backup make).
    for (const role of ['primary', 'backup'] as PairRole[]) loadCredentials(written[role], role);
  } catch (error) {
    if (error instanceof KeyError) throw new UserError(error.message, EXIT.usage);
    throw error;
  }
  if (args.json) {
    printJson({
      pair: pair.pairId,
      primary: written.primary,
      backup: written.backup,
      not_after: pair.notAfter.toISOString(),
    });
    return;
  }
  process.stdout.write(
    `pair ${pair.pairId}, valid until ${pair.notAfter.toISOString()}\n` +
      `  ${written.primary}  → the primary host: remusd ship --keys ${written.primary} …\n` +
      `  ${written.backup}  → the backup host:  remusd backup --keys ${written.backup} …\n` +
      'Each directory holds a private key (mode 0600): copy it to its host only, over a channel you trust, then delete the other copy.\n' +
      "The pair's CA key was not kept: no other certificate can join this pair. To replace a key, create a new pair.\n",
  );
}
