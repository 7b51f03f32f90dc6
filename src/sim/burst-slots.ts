// The workload model's bursts (workload.ts): each slot of burst.durationMs is a burst with probability
// durationMs / everyMs, drawn from (seed, slot), and adds burst.pagesPerSecond while it lasts. Its two questions,
// the burst writes of a window and the next start or end of a burst, in a class of their own: written as closures
// inside createWorkload, both were inlined into their callers (the model checkpointer's take, the scorecard's next
// change), whose inlining budget was spent by then, so that each slot's draw (uniformAt) was a call returning a
// boxed number: ~0.2 k instructions of a simulated checkpoint. Here each method is compiled on its own, the draw
// inlined. The numbers are the same to the last bit: the same draws, the same sums in the same order.

import { uniformAt } from './random.js';
import type { BurstSpec } from './workload.js';

/** The bursts of a workload: each slot of spec.durationMs is one with probability durationMs / everyMs. */
export class BurstSlots {
  readonly #seed: number;
  readonly #slotMs: number;
  readonly #everyMs: number;
  /** The probability that a slot is a burst, and the writes per ms it adds then. */
  readonly #share: number;
  readonly #pagesPerMs: number;
  // [t, edge] of the last nextEdge(t) that found one: for any t' in [t, edge) the next edge is that one too (none
  // lies between), and the scorecard asks again from a step of the base rate before the edge it was told of.
  readonly #lastEdge = new Float64Array([Number.NaN, Number.NaN]);

  constructor(spec: BurstSpec, seed: number) {
    this.#seed = seed;
    this.#slotMs = spec.durationMs;
    this.#everyMs = spec.everyMs;
    this.#share = spec.durationMs / spec.everyMs;
    this.#pagesPerMs = spec.pagesPerSecond / 1000;
  }

  /** The burst writes in [t0, t1). */
  between(t0: number, t1: number): number {
    const slot = this.#slotMs;
    const seed = this.#seed;
    const share = this.#share;
    const pagesPerMs = this.#pagesPerMs;
    let sum = 0;
    for (let k = Math.floor(t0 / slot); k * slot < t1; k++) {
      const a = Math.max(t0, k * slot);
      const b = Math.min(t1, (k + 1) * slot);
      if (b > a) sum += uniformAt(seed, k) < share ? pagesPerMs * (b - a) : 0;
    }
    return sum;
  }

  /** The next start or end of a burst after t (bursts are whole slots), or undefined when none comes soon. */
  nextEdge(t: number): number | undefined {
    const last = this.#lastEdge;
    if (t >= (last[0] ?? Number.NaN) && t < (last[1] ?? Number.NaN)) return last[1];
    const slot = this.#slotMs;
    // Edges are slot boundaries k·slot where burst-ness changes; a burst comes on average every everyMs. Each
    // slot's burst-ness is drawn once: the one before k is the k − 1 of the step before (k ≥ 1: none before 0).
    const seed = this.#seed;
    const share = this.#share;
    const limit = Math.ceil((this.#everyMs / slot) * 64);
    let k = Math.max(1, Math.floor(Math.max(t, 0) / slot) + 1);
    let before = uniformAt(seed, k - 1) < share;
    for (let n = 0; n < limit; k++, n++) {
      const now = uniformAt(seed, k) < share;
      if (now !== before && k * slot > t) {
        last[0] = t;
        last[1] = k * slot;
        return k * slot;
      }
      before = now;
    }
    return undefined;
  }
}
