import { delimiter, join } from 'node:path';
import { isExecutable } from '../fs/exists.js';

/** Where the CRIU command was found, in the order remusd looks. */
export type CriuSource = 'flag' | 'config' | 'env' | 'prefix' | 'path';

export interface CriuLocation {
  command: string;
  source: CriuSource;
}

export interface LocateOptions {
  /** --criu on the command line. */
  flag?: string | undefined;
  /** criu.path in the config file. */
  configPath?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

export const DEFAULT_PREFIX = '/opt/remusd/criu';

export class CriuNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CriuNotFoundError';
  }
}

const SOURCE_NAMES: Record<CriuSource, string> = {
  flag: '--criu',
  config: "the config's criu.path",
  env: 'REMUSD_CRIU',
  prefix: 'the private prefix installed by scripts/install-criu.sh',
  path: 'criu on PATH',
};

/** Says where a location came from, e.g. "/opt/remusd/criu/bin/criu (from REMUSD_CRIU)". */
export function describeLocation(location: CriuLocation): string {
  return `${location.command} (from ${SOURCE_NAMES[location.source]})`;
}

/**
 * Finds CRIU: --criu, the config's criu.path, REMUSD_CRIU, the private prefix, then PATH. An explicitly
 * named CRIU that is not executable is an error, not a reason to fall through to another one: running a
 * different CRIU than the operator asked for would be a surprise.
 */
export async function locateCriu(options: LocateOptions = {}): Promise<CriuLocation> {
  const env = options.env ?? process.env;
  const explicit: [CriuSource, string | undefined][] = [
    ['flag', options.flag],
    ['config', options.configPath],
    ['env', env.REMUSD_CRIU],
  ];
  for (const [source, command] of explicit) {
    if (!command) continue;
    if (!(await isExecutable(command))) {
      throw new CriuNotFoundError(`${SOURCE_NAMES[source]} names ${command}, which is not an executable file`);
    }
    return { command, source };
  }
  const prefixed = join(env.REMUSD_CRIU_PREFIX ?? DEFAULT_PREFIX, 'bin', 'criu');
  if (await isExecutable(prefixed)) return { command: prefixed, source: 'prefix' };
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutable(join(dir, 'criu')))) return { command: join(dir, 'criu'), source: 'path' };
  }
  throw new CriuNotFoundError(
    `no CRIU found (looked at --criu, criu.path, REMUSD_CRIU, ${prefixed}, PATH). ` +
      'Fix: run scripts/install-criu.sh as root (installs CRIU 4.2 into a private prefix), or point REMUSD_CRIU at a CRIU >= 4.2.',
  );
}
