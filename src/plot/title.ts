// The default title of a plot, from what the records say about their run: which run (the records file's
// name, or its directory's when it is the usual records.jsonl), the mode, the policy, the band and when it
// started. A reload that changed the policy or the band shows as "a → b" / "band changed N times".

import { basename, dirname } from 'node:path';
import type { ReadRecord } from '../loop/record-reader.js';
import type { Band } from '../model/policy.js';
import { formatMs, formatSize } from '../units/units.js';
import { bandsOf, type PlotPoint } from './points.js';

/** What the title says where the records do not say it (older records carry no policy or band). */
export interface TitleContext {
  /** The records file as given on the command line. */
  source: string;
  /** The band came from --config rather than from the records. */
  bandFromConfig: boolean;
}

/** `demo-images · delta · threshold · band 4MiB–16MiB, 200 ms–5.00 s · 2026-11-22 00:26 UTC`. */
export function defaultTitle(
  records: readonly ReadRecord[],
  points: readonly PlotPoint[],
  context: TitleContext,
): string {
  const parts = [runName(context.source)];
  const modes = distinct(records.map((r) => r.mode));
  parts.push(modes.map((m) => (m === 'sim' ? 'simulated' : m)).join(' + '));
  const policies = distinct(records.flatMap((r) => (r.policy === undefined ? [] : [r.policy])));
  parts.push(policies.length === 0 ? 'policy not recorded' : policies.join(' → '));
  const bands = bandsOf(points);
  const [onlyBand] = bands;
  parts.push(
    onlyBand !== undefined && bands.length === 1
      ? `band ${bandText(onlyBand)}${context.bandFromConfig ? ' (--config)' : ''}`
      : `band changed ${bands.length - 1}× (drawn as steps)`,
  );
  // A simulated run starts at the epoch of its virtual clock: its date says nothing.
  const first = records[0];
  if (first !== undefined && !modes.includes('sim'))
    parts.push(`${new Date(first.startMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`);
  return parts.join(' · ');
}

function runName(source: string): string {
  const name = basename(source);
  if (name === 'records.jsonl') return basename(dirname(source)) || name;
  return name.replace(/(\.records)?\.jsonl$/, '') || name;
}

function bandText(band: Band): string {
  return `${formatSize(band.lminBytes)}–${formatSize(band.lmaxBytes)}, ${formatMs(band.minMs)}–${formatMs(band.maxMs)}`;
}

function distinct<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
