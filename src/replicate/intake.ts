import { manifestDifference } from './backup-runs.js';
import type { Manifest, Message } from './messages.js';

// What a backup answers to an offer, as a pure function of the offered manifest and what it holds of
// the offer's run. Names are compared only within one run; whether the backup "has it already" is
// decided by content (every file's size and hash, and the parent), never by the name alone.

/** What the backup holds of one run, as far as one offer is concerned. */
export interface RunHoldings {
  /** The newest name ever landed in the run (kept past retention), or null. */
  newest: string | null;
  /** The manifest of the held checkpoint of the offered name, if the backup holds one ('damaged': unreadable). */
  held: Manifest | 'damaged' | undefined;
  /** The run's checkpoints whose whole chain is present. */
  complete: readonly string[];
}

export type OfferVerdict =
  | { type: 'have' }
  | { type: 'accept' }
  | { type: 'refuse'; reason: Extract<Message, { type: 'refuse' }>['reason']; message: string };

/**
 * A primary's clock may run ahead of the backup's; a checkpoint dated further ahead than this would
 * stay "the newest" for that long whatever the real primary sends after it, so it is refused.
 */
export const MAX_CLOCK_AHEAD_MS = 5 * 60_000;

/** The answer to offer `manifest` (of the sender's run, already checked) given what the backup holds of that run. */
export function judgeOffer(manifest: Manifest, holdings: RunHoldings, nowMs: number): OfferVerdict {
  const { name, run } = manifest;
  if (holdings.held === 'damaged') {
    return {
      type: 'refuse',
      reason: 'invalid',
      message: `refusing ${name} of run ${run}: this backup holds a ${name} of that run whose manifest is unreadable`,
    };
  }
  if (holdings.held !== undefined) {
    const difference = manifestDifference(holdings.held, manifest);
    if (difference === undefined) return { type: 'have' };
    return {
      type: 'refuse',
      reason: 'invalid',
      message: `refusing ${name} of run ${run}: this backup holds a different ${name} of that run (${difference})`,
    };
  }
  if (holdings.newest !== null && name <= holdings.newest) {
    return {
      type: 'refuse',
      reason: 'invalid',
      message: `refusing ${name} of run ${run}: names go backwards (this backup has had ${holdings.newest} of that run already)`,
    };
  }
  const aheadMs = Date.parse(manifest.taken_at) - nowMs;
  if (aheadMs > MAX_CLOCK_AHEAD_MS) {
    return {
      type: 'refuse',
      reason: 'invalid',
      message: `refusing ${name} of run ${run}: taken at ${manifest.taken_at}, ${Math.round(aheadMs / 1000)} s ahead of this backup's clock (at most ${MAX_CLOCK_AHEAD_MS / 1000} s allowed)`,
    };
  }
  if (manifest.parent !== null && !holdings.complete.includes(manifest.parent)) {
    return {
      type: 'refuse',
      reason: 'missing-parent',
      message: `refusing ${name}: its parent ${manifest.parent} of run ${run} is not complete on this backup (send the missing ancestors first, oldest first)`,
    };
  }
  return { type: 'accept' };
}
