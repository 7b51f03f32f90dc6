// A policy's in-place decider (PolicyDecider), for the loop: the policy's own when it has one, else its pure
// decide() with the state carried from call to call.

import type { Band, Decision, Observation, Policy, PolicyDecider } from '../model/policy.js';

/** The decider of `policy` from `state` on. */
export function deciderOf<State>(policy: Policy<State>, state: State): PolicyDecider<State> {
  return policy.decider?.(state) ?? new CarriedState(policy, state);
}

// decide() with its state carried: for policies without a decider of their own (fixed and threshold keep no
// state; test doubles).
class CarriedState<State> implements PolicyDecider<State> {
  #state: State;

  constructor(
    private readonly policy: Policy<State>,
    state: State,
  ) {
    this.#state = state;
  }

  decide(observation: Observation, band: Band): Decision {
    const out = this.policy.decide(this.#state, observation, band);
    this.#state = out.state;
    return out.decision;
  }

  state(): State {
    return this.#state;
  }
}
