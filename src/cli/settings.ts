import { bandOf, type Config } from '../config/schema.js';
import type { SupervisorSettings } from '../loop/supervisor-deps.js';
import { probeInForce } from '../config/probe-setting.js';
import type { CheckpointMode } from '../model/record.js';
import { aimRuleOf, createPolicy } from '../policy/index.js';

/**
 * Turns a validated config into what the supervisor reads at each checkpoint, in the run's resolved mode. The policy object is
 * rebuilt only when its spec changes, so a reload that touches only thresholds keeps the policy's state.
 */
export function settingsSource(mode: CheckpointMode): (config: Config) => SupervisorSettings {
  let cached: { key: string; policy: SupervisorSettings['policy'] } | undefined;
  return (config) => {
    const key = JSON.stringify(config.policy);
    if (cached?.key !== key) cached = { key, policy: createPolicy(config.policy) };
    return {
      band: bandOf(config),
      policyKey: key,
      policy: cached.policy,
      retention: {
        keep: config.checkpoint.retention.keep,
        newChainEvery: config.checkpoint.retention.newChainEvery,
        maxChainBytes: config.checkpoint.retention.maxChainBytes ?? undefined,
        compact: config.checkpoint.retention.compact,
        compactAt: config.checkpoint.retention.compactAt,
      },
      criu: { logLevel: config.criu.logLevel, extraArgs: config.criu.extraArgs, timeoutMs: config.criu.timeoutMs },
      failures: config.failures,
      // A reload may change the policy's kind, and with it what probe.enabled auto means.
      probe: probeInForce(config.probe.enabled, mode, config.policy.kind)
        ? {
            minPeriodMs: config.probe.minPeriodMs,
            maxPeriodMs: config.probe.maxPeriodMs,
            defer: config.probe.defer,
            target: aimRuleOf(config.policy),
          }
        : undefined,
    };
  };
}
