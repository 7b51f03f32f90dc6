import { resolve } from 'node:path';
import { formatConfigError } from '../config/errors.js';
import { loadConfigFile, validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';

/** Loads and validates --config FILE, or the defaults (relative to the working directory) when there is none. */
export async function loadConfigOrDefaults(path: string | undefined): Promise<Config> {
  const result = path === undefined ? validateConfig({}, '(defaults)', process.cwd()) : await loadConfigFile(path);
  if (!result.ok) {
    throw new UserError(`invalid config:\n${result.errors.map(formatConfigError).join('\n')}`, EXIT.usage);
  }
  return result.config;
}

/** An absolute path for a user-given path, relative to the working directory. */
export function absolute(path: string | undefined): string | undefined {
  return path === undefined ? undefined : resolve(path);
}
