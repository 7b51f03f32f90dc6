// The Remus baseline: checkpoint at one fixed epoch (Remus' `-i`, 200 ms by default) whatever the size.

import type { Band, Decision, Observation, Policy } from '../model/policy.js';
import { formatMs } from '../units/units.js';
import { assertBand, decided, directionOf, startingInterval } from './bounds.js';

/**
 * next = interval in force. The interval only moves if it lies outside [band.minMs, band.maxMs] (after a
 * config reload), where it is clamped like every policy's; otherwise the decision is always 'hold'.
 */
export class FixedPolicy implements Policy<undefined> {
  readonly kind = 'fixed';

  initialState(): undefined {
    return undefined;
  }

  decide(_state: undefined, observation: Observation, band: Band): { decision: Decision; state: undefined } {
    assertBand(band);
    const start = startingInterval(observation, band);
    const next = start.ms;
    return {
      decision: decided(
        next,
        directionOf(observation, start, next),
        () => `fixed interval: hold at ${formatMs(next)}${start.note}`,
      ),
      state: undefined,
    };
  }
}
