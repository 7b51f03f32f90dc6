import { resolve } from 'node:path';
import { KeyError, loadCredentials, type Credentials } from '../../replicate/tls/files.js';
import type { PairRole } from '../../replicate/tls/generate.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

/** The --keys option of ship and backup: required, there is no unauthenticated mode. */
export const keysOption = (role: PairRole) =>
  ({
    type: 'string',
    demandOption: `give --keys: the ${role} directory made by \`remusd keys init DIR\` (DIR/${role}); there is no unauthenticated mode`,
    describe: `This side's key material: DIR/${role} from \`remusd keys init DIR\``,
  }) as const;

/** Loads --keys for role, as a usage error (exit 2) naming the file if anything is missing or unsafe. */
export function loadKeysOption(dir: string, role: PairRole): Credentials {
  try {
    return loadCredentials(resolve(dir), role);
  } catch (error) {
    if (error instanceof KeyError) throw new UserError(`--keys: ${error.message}`, EXIT.usage);
    throw error;
  }
}
