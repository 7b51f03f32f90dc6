import type { Config } from '../../config/schema.js';
import type { DumpKind } from '../../criu/dump.js';
import { bestMode, type probeCapabilities } from '../../criu/probe.js';
import type { CheckpointMode } from '../../model/record.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

export type Capabilities = Awaited<ReturnType<typeof probeCapabilities>>;

/** The dump CRIU runs for each mode: a delta is a full dump rewritten afterwards (src/delta/). */
export const KIND_OF_MODE: Record<CheckpointMode, DumpKind> = {
  'pre-dump': 'pre-dump',
  dump: 'dump',
  full: 'full',
  delta: 'full',
};

/** The configured checkpoint mode, or the best available one for `auto`; an unavailable mode is a user error. */
export function resolveMode(setting: Config['checkpoint']['mode'], capabilities: Capabilities): CheckpointMode {
  if (setting === 'auto') {
    const mode = bestMode(capabilities);
    if (mode === undefined)
      throw new UserError('no checkpoint mode is available here (see `remusd check`)', EXIT.criuUnavailable);
    return mode;
  }
  const availability = capabilities.modes[setting];
  if (!availability.available) {
    throw new UserError(
      `checkpoint.mode ${setting} is not available here: ${availability.why}. Use mode auto, or see \`remusd check\`.`,
      EXIT.criuUnavailable,
    );
  }
  return setting;
}
