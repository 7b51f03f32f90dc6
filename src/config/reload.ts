// What a reload changes, and whether it can apply while running. Pure: the caller logs and applies.
//
// Only the keys the supervisor reads afresh at every checkpoint apply live: the band, the interval bounds,
// the policy, retention, CRIU's arguments and the failure policy. Everything else is read once at the start
// (the images directory, the mode, the records file, the metrics address, CRIU's path, the first interval,
// sections other engineers add). Changing one of those used to log "config reloaded" and be ignored; now
// the whole reload is refused with the keys named, and the last good config stays in force.

import type { Config } from './schema.js';

/** One changed key of the normalized config, as a snake_case path (`thresholds.lmax_bytes`). */
export interface ConfigChange {
  key: string;
  from: unknown;
  to: unknown;
}

/** The outcome of comparing the config in force with a newly loaded one. */
export type ReloadPlan =
  | { ok: true; changes: ConfigChange[] }
  | { ok: false; changes: ConfigChange[]; needsRestart: ConfigChange[] };

/** Keys (and key prefixes) of the normalized config that the supervisor re-reads before every checkpoint. */
export const LIVE_KEYS: readonly string[] = [
  'thresholds.',
  'interval.min_ms',
  'interval.max_ms',
  'policy.',
  'checkpoint.retention.',
  'criu.extra_args',
  'criu.log_level',
  'criu.timeout_ms',
  'failures.',
];

/** Whether a changed key applies without a restart. */
export function appliesLive(key: string): boolean {
  return LIVE_KEYS.some((live) =>
    live.endsWith('.') ? key.startsWith(live) : key === live || key.startsWith(`${live}[`),
  );
}

/** Compares two configs key by key; a reload with any key that needs a restart is refused as a whole. */
export function planReload(current: Config, next: Config): ReloadPlan {
  const changes = diff(current, next, '');
  const needsRestart = changes.filter((change) => !appliesLive(change.key));
  return needsRestart.length === 0 ? { ok: true, changes } : { ok: false, changes, needsRestart };
}

/** `thresholds.lmax_bytes 8388608 → 67108864`. */
export function describeChange(change: ConfigChange): string {
  return `${change.key} ${show(change.from)} → ${show(change.to)}`;
}

function show(value: unknown): string {
  const text = JSON.stringify(value) ?? 'undefined';
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function snake(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function diff(a: unknown, b: unknown, path: string): ConfigChange[] {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys.flatMap((key) => diff(a[key], b[key], path === '' ? snake(key) : `${path}.${snake(key)}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [{ key: path, from: a, to: b }];
}
