// Whether the dirty-size probe runs: `probe.enabled` is true, false or auto, and auto depends on what the
// probe would have to aim at. Pure: the run passes the mode it resolved, the simulator the mode it models.

import type { CheckpointMode } from '../model/record.js';
import type { PolicyKind } from '../policy/index.js';

/** probe.enabled as written: on, off, or auto (the default). */
export type ProbeSetting = boolean | 'auto';

/**
 * Why `auto` leaves the probe off for this mode and policy, or undefined when it turns it on. On where the
 * probe has something to aim at: an adaptive policy (threshold, predictive: they want each checkpoint's size
 * in the band) in a mode that stores only what was written since the last checkpoint. Off in mode full
 * (every checkpoint stores the whole memory) and for the fixed policy (its user asked for an interval).
 * Mode auto stands for a mode not yet resolved: only the policy decides.
 */
export function autoOffReason(mode: CheckpointMode | 'auto', policyKind: PolicyKind): string | undefined {
  if (mode === 'full') return 'mode full stores the whole memory at every checkpoint';
  if (policyKind === 'fixed') return 'the fixed policy keeps its interval';
  return undefined;
}

/** Whether the probe runs for this mode and policy (an explicit true or false is taken as written). */
export function probeInForce(setting: ProbeSetting, mode: CheckpointMode, policyKind: PolicyKind): boolean {
  return setting === 'auto' ? autoOffReason(mode, policyKind) === undefined : setting;
}

/** How a setting resolved, for the run's log: e.g. "on (auto: predictive policy, mode delta)". */
export function probeSettingText(setting: ProbeSetting, mode: CheckpointMode, policyKind: PolicyKind): string {
  if (setting !== 'auto') return setting ? 'on (probe.enabled: true)' : 'off (probe.enabled: false)';
  const off = autoOffReason(mode, policyKind);
  return off === undefined ? `on (auto: ${policyKind} policy, mode ${mode})` : `off (auto: ${off})`;
}
