// The rule proposed on xen-devel in 2012 for Remus ("How to get the checkpoint size in remus code?"): if a
// checkpoint's size breaks Lmax, reduce the interval; if it does not reach Lmin, increase it.

import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { formatBytes, formatMs } from '../units/units.js';
import { assertBand, clampToBand, decided, directionOf, startingInterval } from './bounds.js';
import { checkedParameter } from './defaults.js';

/** Options of the threshold rule; defaults in POLICY_DEFAULTS. */
export interface ThresholdOptions {
  /** Factor applied when size > lmax, 0 < shrink < 1. */
  shrink?: number;
  /** Factor applied when size < lmin, 1 < grow ≤ 10. */
  grow?: number;
}

/** Which way the size points the interval, and the words for it (e.g. "size 24.0 MiB > lmax 16.0 MiB"). */
export interface SizeVerdict {
  intent: 'shrink' | 'grow' | 'hold';
  rule: string;
}

/** Which way the size points the interval; both edges count as inside, and no dirty pages means grow. */
export function sizeIntent(observation: Observation, band: Band): SizeVerdict['intent'] {
  const size = observation.sizeBytes;
  if (!Number.isFinite(size) || size < 0) return 'hold';
  // Nothing changed: checkpointing more often only costs, whatever lmin is (even 0).
  if (size === 0) return 'grow';
  if (size > band.lmaxBytes) return 'shrink';
  if (size < band.lminBytes) return 'grow';
  return 'hold';
}

/** Compares the observed size with the band (sizeIntent), with the words for it. */
export function judgeSize(observation: Observation, band: Band): SizeVerdict {
  return { intent: sizeIntent(observation, band), rule: sizeRule(observation, band) };
}

// The words for sizeIntent's answer.
function sizeRule(observation: Observation, band: Band): string {
  const size = observation.sizeBytes;
  if (!Number.isFinite(size) || size < 0) return `size ${size} is not a valid size`;
  if (size === 0) return 'no dirty pages (size 0 B)';
  if (size > band.lmaxBytes) return `size ${pair(size, '>', 'lmax', band.lmaxBytes)}`;
  if (size < band.lminBytes) return `size ${pair(size, '<', 'lmin', band.lminBytes)}`;
  return `size ${formatBytes(size)} within [lmin ${formatBytes(band.lminBytes)}, lmax ${formatBytes(band.lmaxBytes)}]`;
}

// "24.0 MiB > lmax 16.0 MiB", falling back to exact bytes when rounding would print the same figure twice.
function pair(size: number, op: string, name: string, edge: number): string {
  const a = formatBytes(size);
  const b = formatBytes(edge);
  return a === b ? `${size} B ${op} ${name} ${edge} B` : `${a} ${op} ${name} ${b}`;
}

/**
 * Threshold rule (the thread's):
 *   size > lmax         → next = interval × shrink   (default 0.5)
 *   size < lmin, or 0   → next = interval × grow     (default 1.5)
 *   lmin ≤ size ≤ lmax  → next = interval            (edges are inside the band)
 * then next is rounded to whole ms away from the interval in force (so small factors still move it) and
 * clamped to [band.minMs, band.maxMs]; when the clamp cancels the change the reason says "already at min/max".
 */
export class ThresholdPolicy implements Policy<undefined> {
  readonly kind = 'threshold';
  readonly shrink: number;
  readonly grow: number;

  constructor(options: ThresholdOptions = {}) {
    this.shrink = checkedParameter('threshold', 'shrink', options.shrink);
    this.grow = checkedParameter('threshold', 'grow', options.grow);
  }

  initialState(): undefined {
    return undefined;
  }

  decide(_state: undefined, observation: Observation, band: Band): { decision: Decision; state: undefined } {
    return { decision: this.evaluate(observation, band), state: undefined };
  }

  /** The decision for one observation; stateless, so other policies can fall back to it. */
  evaluate(observation: Observation, band: Band): Decision {
    assertBand(band);
    const start = startingInterval(observation, band);
    const intent = sizeIntent(observation, band);
    if (intent === 'hold') {
      return decided(
        start.ms,
        directionOf(observation, start, start.ms),
        () => `${sizeRule(observation, band)}: hold at ${formatMs(start.ms)}${start.note}`,
      );
    }
    const factor = intent === 'shrink' ? this.shrink : this.grow;
    const proposed = intent === 'shrink' ? Math.floor(start.ms * factor) : Math.ceil(start.ms * factor);
    const clamped = clampToBand(proposed, band);
    return decided(clamped.ms, directionOf(observation, start, clamped.ms), () => {
      const rule = sizeRule(observation, band);
      let reason: string;
      if (clamped.clampedTo !== null && clamped.ms === start.ms) {
        reason = `${rule}: interval ${formatMs(start.ms)} already at ${clamped.clampedTo}, hold`;
      } else if (clamped.clampedTo !== null) {
        reason =
          `${rule}: interval ${formatMs(start.ms)} × ${factor} → ${formatMs(proposed)}, ` +
          `clamped to ${clamped.clampedTo} ${formatMs(clamped.ms)}`;
      } else {
        reason = `${rule}: interval ${formatMs(start.ms)} × ${factor} → ${formatMs(clamped.ms)}`;
      }
      return reason + start.note;
    });
  }
}
