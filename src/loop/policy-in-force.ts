// The policy the loop decides with, and its state, kept inside its decider (see PolicyDecider) across
// reloads: another policy (a new key) starts from a fresh state; the same one made again by a reload goes on
// from the state so far.

import type { PolicyDecider } from '../model/policy.js';
import { deciderOf } from '../policy/decider.js';
import type { SupervisorSettings } from './supervisor-deps.js';

type PolicySettings = Pick<SupervisorSettings, 'policyKey' | 'policy'>;

export class PolicyInForce {
  #key: string;
  #policy: SupervisorSettings['policy'];
  #decider: PolicyDecider;

  constructor(settings: PolicySettings) {
    this.#key = settings.policyKey;
    this.#policy = settings.policy;
    this.#decider = deciderOf(settings.policy, settings.policy.initialState());
  }

  get decider(): PolicyDecider {
    return this.#decider;
  }

  /** Follows the settings in force; true when they name another policy (started afresh). */
  follow(settings: PolicySettings): boolean {
    const { policyKey, policy } = settings;
    if (policy === this.#policy && policyKey === this.#key) return false;
    const fresh = policyKey !== this.#key;
    this.#decider = deciderOf(policy, fresh ? policy.initialState() : this.#decider.state());
    this.#key = policyKey;
    this.#policy = policy;
    return fresh;
  }
}
