// Seeded randomness for simulations: mulberry32, in a form that can also be read at any index, so a
// workload's noise is a pure function of (seed, time) and never depends on the order of the questions.
// No Math.random anywhere in src/sim: the same seed gives the same numbers on every machine.

const GOLDEN = 0x6d2b79f5;

// mulberry32's output function: a 32-bit state to a uniform number in [0, 1).
function mix(state: number): number {
  let t = state | 0;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A mulberry32 stream: each call gives the next uniform number in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + GOLDEN) | 0;
    return mix(state);
  };
}

/** The index-th number (0-based) of mulberry32(seed), computed directly. */
export function uniformAt(seed: number, index: number): number {
  return mix(((seed | 0) + Math.imul((index + 1) | 0, GOLDEN)) | 0);
}

/** An independent seed for a named purpose (noise, bursts…) derived from the user's seed. */
export function deriveSeed(seed: number, stream: number): number {
  return Math.floor(uniformAt(seed ^ Math.imul(stream, 0x9e3779b9), stream) * 4294967296) | 0;
}

/** A standard normal number at an index (Box–Muller on the uniforms 2·index and 2·index + 1). */
export function normalAt(seed: number, index: number): number {
  const u1 = 1 - uniformAt(seed, 2 * index); // (0, 1]: log is finite
  const u2 = uniformAt(seed, 2 * index + 1);
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A lognormal factor with mean 1 and log-standard-deviation sigma: exp(sigma·Z − sigma²/2). */
export function lognormalFactorAt(seed: number, index: number, sigma: number): number {
  return sigma === 0 ? 1 : Math.exp(sigma * normalAt(seed, index) - (sigma * sigma) / 2);
}
