// What `remusd run` does with a reloaded config file (a change on disk or SIGHUP): apply it when every
// changed key applies live, refuse it as a whole otherwise, and say exactly which keys changed either way.

import type { Logger } from 'pino';
import { formatConfigError } from '../config/errors.js';
import type { ConfigResult } from '../config/load.js';
import { describeChange, planReload } from '../config/reload.js';
import type { Config } from '../config/schema.js';

/** Where a reload's outcome goes besides the log (the metrics, when they are served). */
export interface ReloadObserver {
  configReloaded(ok: boolean, at: Date): void;
}

/** Returns the config in force after a reload: the new one, or the current one when the reload is refused. */
export function applyReload(
  current: Config,
  result: ConfigResult,
  file: string,
  log: Logger,
  observer?: ReloadObserver,
): Config {
  if (!result.ok) {
    log.error(
      { file, errors: result.errors.length },
      `config reload refused; keeping the last good config:\n${result.errors.map(formatConfigError).join('\n')}`,
    );
    observer?.configReloaded(false, new Date());
    return current;
  }
  const plan = planReload(current, result.config);
  const changed = plan.changes.map((change) => change.key);
  if (!plan.ok) {
    const restart = plan.needsRestart.map((change) => change.key);
    log.error(
      { file, changed, needs_restart: restart },
      `config reload refused: ${plan.needsRestart.map(describeChange).join('; ')}: ` +
        `${restart.length === 1 ? 'this key needs' : 'these keys need'} a restart (systemctl restart, or stop and start remusd run); ` +
        'keeping the last good config, nothing of this file applied',
    );
    observer?.configReloaded(false, new Date());
    return current;
  }
  log.info(
    { file, changed },
    plan.changes.length === 0
      ? `config reloaded from ${file}: no changes`
      : `config reloaded from ${file}: ${plan.changes.map(describeChange).join('; ')}`,
  );
  observer?.configReloaded(true, new Date());
  return result.config;
}
