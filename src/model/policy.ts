// The contract between the supervisor loop and an interval policy. Policies are pure: everything they
// may depend on arrives in one Observation object (no clocks, no randomness), and they answer with the
// next interval and why. Adding a field here never breaks a policy.

/**
 * What was observed about the checkpoint that just finished. The loop rewrites one observation for every
 * checkpoint (a simulation makes millions): a policy or a wrapper that keeps one copies it. A decision's
 * reason may read it, and the loop reads the reason before the next checkpoint.
 */
export interface Observation {
  /** Sequence number of the checkpoint (1 for the first). */
  seq: number;
  /** The interval (start-to-start, ms) in force before this checkpoint: what the policy decided last time. */
  intervalMs: number;
  /** Time actually elapsed since the previous checkpoint started (≥ intervalMs on an overrun), ms. */
  elapsedMs: number;
  /** Bytes this checkpoint had to store: dirty pages × page size (the size the Lmin/Lmax band is about). */
  sizeBytes: number;
  /** Pages written by this checkpoint (the dirty set, or everything in a full dump). */
  pagesWritten: number;
  /** Time the workload was frozen, µs. */
  frozenUs: number;
  /** Page size of the machine, bytes. */
  pageSize: number;
}

/** The band and clamps every policy works within (config thresholds and interval). */
export interface Band {
  lminBytes: number;
  lmaxBytes: number;
  minMs: number;
  maxMs: number;
}

export type DecisionKind = 'shrink' | 'grow' | 'hold';

export interface Decision {
  nextIntervalMs: number;
  decision: DecisionKind;
  /** One readable sentence: which rule fired, with the numbers. */
  reason: string;
}

/**
 * An interval policy. `decide` is pure apart from the policy's own bookkeeping state, which it owns and
 * returns explicitly so that simulations and trace replays repeat exactly.
 */
export interface Policy<State = unknown> {
  readonly kind: string;
  initialState(): State;
  decide(state: State, observation: Observation, band: Band): { decision: Decision; state: State };
  /**
   * The same rule deciding in place, from `state` on (optional: the loop wraps `decide` when it is missing).
   * Its decisions are decide's, to the bit; a simulation decides millions of times and allocates nothing then.
   */
  decider?(state: State): PolicyDecider<State>;
}

/**
 * A policy deciding in place: it keeps its state inside and rewrites one decision per call. The decision it
 * returns is valid until the next call (the loop reads it, reason included, before deciding again).
 */
export interface PolicyDecider<State = unknown> {
  decide(observation: Observation, band: Band): Decision;
  /** The state after the decisions so far, as decide() would have returned it (the same object if unchanged). */
  state(): State;
}
