// Rules that involve more than one key (lmin ≤ lmax, min ≤ initial ≤ max, …) and keys that would do
// nothing where they are (a policy option the chosen kind ignores): those are errors, not silent no-ops.

import { POLICY_OPTIONS } from '../policy/index.js';
import { firstHostAddress, isHostInSubnet, subnetOf } from '../units/ipv4.js';
import { formatPath, type KeyPath } from './errors.js';
import { autoOffReason } from './probe-setting.js';
import { fencingRules } from './fencing.js';
import { workloadRules } from './workload.js';
import { isLoopback } from '../units/endpoint.js';
import { degradeRules } from './degrade.js';
import type { Config, ConfigFile } from './schema.js';
import { formatBytes, formatMs } from './units.js';

/** A rule violation: where, what, and the value at fault. */
export interface RuleViolation {
  path: KeyPath;
  message: string;
  value?: unknown;
}

/** CRIU options remusd sets itself; passing them again in criu.extra_args would fight it. */
export const MANAGED_CRIU_OPTIONS = [
  '-D',
  '--images-dir',
  '-t',
  '--tree',
  '-W',
  '--work-dir',
  '--prev-images-dir',
  '--leave-running',
  '--track-mem',
  '-o',
  '--log-file',
  '-v',
  '--verbosity',
] as const;

// Policy option names as the file spells them, by the name the policies use.
const FILE_NAMES: Record<string, string> = {
  shrink: 'shrink',
  grow: 'grow',
  window: 'window',
  change: 'change',
  deadband: 'deadband',
  target: 'target',
};

/** Every rule the normalized config breaks; `file` tells which values were written and which defaulted. */
export function checkConfig(config: Config, file: ConfigFile): RuleViolation[] {
  return [
    ...bandRules(config, file),
    ...intervalRules(config, file),
    ...policyRules(config, file),
    ...failureRules(config, file),
    ...retentionRules(config, file),
    ...criuRules(config),
    ...metricsRules(config, file),
    ...outputCommitRules(config, file),
    ...fencingRules(config.fencing, file.fencing),
    ...networkRules(config, file),
    ...workloadRules(file.workload),
    ...probeRules(config, file),
  ];
}

function probeRules(config: Config, file: ConfigFile): RuleViolation[] {
  const { enabled, minPeriodMs, maxPeriodMs } = config.probe;
  const { mode } = config.checkpoint;
  const autoOff = enabled === 'auto' ? autoOffReason(mode, config.policy.kind) : undefined;
  if (enabled === false || autoOff !== undefined) {
    // The probe's other keys do nothing while it is off: an error, as every key that would have no effect.
    const idle = (['min_period', 'max_period', 'defer'] as const).filter((key) => file.probe?.[key] !== undefined);
    const why =
      enabled === false
        ? 'while probe.enabled is false; remove it or set probe.enabled: true or auto'
        : `here: probe.enabled auto leaves the probe off (${autoOff}); remove it`;
    return idle.map((key) => ({ path: ['probe', key], value: file.probe?.[key], message: `has no effect ${why}` }));
  }
  if (enabled === true && mode === 'full') {
    // Every full checkpoint stores the whole memory: there is no dirty size to aim at, and deferral would only
    // hold checkpoints back while the touched memory is under lmin. (auto turns itself off there.)
    return [
      {
        path: ['probe', 'enabled'],
        value: file.probe?.enabled,
        message:
          'has no effect in checkpoint.mode full (every checkpoint stores the whole memory: there is no dirty size to aim at); remove it (auto, the default, is off in mode full) or use an incremental mode',
      },
    ];
  }
  if (minPeriodMs <= maxPeriodMs) return [];
  return [
    misordered(
      { path: ['probe', 'min_period'], written: file.probe?.min_period, text: formatMs(minPeriodMs) },
      { path: ['probe', 'max_period'], written: file.probe?.max_period, text: formatMs(maxPeriodMs) },
      'min_period must be ≤ max_period',
    ),
  ];
}

// One side of an ordered pair of keys: where it is, what was written (undefined: defaulted), how to show it.
interface Side {
  path: KeyPath;
  written: unknown;
  text: string;
}

const said = (written: unknown) => (written === undefined ? ' (default)' : '');

// "low > high", reported at the key the user wrote (low, unless only high was written), naming both values.
function misordered(low: Side, high: Side, rule: string): RuleViolation {
  const lowText = `${low.text}${said(low.written)}`;
  const highText = `${high.text}${said(high.written)}`;
  if (low.written === undefined) {
    const message = `${highText} is less than ${formatPath(low.path)} ${lowText}; ${rule}`;
    return { path: high.path, value: high.written, message };
  }
  const message = `${lowText} is greater than ${formatPath(high.path)} ${highText}; ${rule}`;
  return { path: low.path, value: low.written, message };
}

function bandRules(config: Config, file: ConfigFile): RuleViolation[] {
  const { lminBytes, lmaxBytes } = config.thresholds;
  if (lminBytes <= lmaxBytes) return [];
  return [
    misordered(
      { path: ['thresholds', 'lmin'], written: file.thresholds?.lmin, text: formatBytes(lminBytes) },
      { path: ['thresholds', 'lmax'], written: file.thresholds?.lmax, text: formatBytes(lmaxBytes) },
      'lmin must be ≤ lmax',
    ),
  ];
}

function intervalRules(config: Config, file: ConfigFile): RuleViolation[] {
  const { initialMs, minMs, maxMs } = config.interval;
  if (minMs > maxMs) {
    return [
      misordered(
        { path: ['interval', 'min'], written: file.interval?.min, text: formatMs(minMs) },
        { path: ['interval', 'max'], written: file.interval?.max, text: formatMs(maxMs) },
        'min must be ≤ max',
      ),
    ];
  }
  if (initialMs >= minMs && initialMs <= maxMs) return [];
  return [
    {
      path: ['interval', 'initial'],
      value: file.interval?.initial,
      message:
        `${formatMs(initialMs)} is outside interval.min ${formatMs(minMs)}${said(file.interval?.min)} .. ` +
        `interval.max ${formatMs(maxMs)}${said(file.interval?.max)}; initial must satisfy min ≤ initial ≤ max`,
    },
  ];
}

// A policy option the chosen kind ignores would be a silent no-op: an error instead.
function policyRules(config: Config, file: ConfigFile): RuleViolation[] {
  const kind = config.policy.kind;
  const takes: readonly string[] = POLICY_OPTIONS[kind];
  const out: RuleViolation[] = [];
  const writtenKeys = new Map<string, unknown>(Object.entries(file.policy ?? {}));
  for (const [option, fileName] of Object.entries(FILE_NAMES)) {
    const written = writtenKeys.get(fileName);
    if (written === undefined || takes.includes(option)) continue;
    const users = Object.entries(POLICY_OPTIONS)
      .filter(([, options]) => (options as readonly string[]).includes(option))
      .map(([name]) => name);
    out.push({
      path: ['policy', fileName],
      value: written,
      message:
        `has no effect with policy.kind ${kind}${said(file.policy?.kind)}; it applies to ${users.join(' and ')}: ` +
        'remove it or change policy.kind',
    });
  }
  return out;
}

function failureRules(config: Config, file: ConfigFile): RuleViolation[] {
  const { backoffInitialMs, backoffMaxMs } = config.failures;
  if (backoffInitialMs <= backoffMaxMs) return [];
  return [
    misordered(
      {
        path: ['failures', 'backoff_initial'],
        written: file.failures?.backoff_initial,
        text: formatMs(backoffInitialMs),
      },
      { path: ['failures', 'backoff_max'], written: file.failures?.backoff_max, text: formatMs(backoffMaxMs) },
      'initial must be ≤ max',
    ),
  ];
}

function retentionRules(config: Config, file: ConfigFile): RuleViolation[] {
  if (config.checkpoint.retention.maxChainBytes !== 0) return [];
  return [
    {
      path: ['checkpoint', 'retention', 'max_chain_bytes'],
      value: file.checkpoint?.retention?.max_chain_bytes,
      message: '0 B would end every chain at once; use a positive size, or leave the key out for no limit',
    },
  ];
}

function criuRules(config: Config): RuleViolation[] {
  const out: RuleViolation[] = [];
  config.criu.extraArgs.forEach((arg, index) => {
    const name = arg.split('=')[0] ?? arg;
    const verbosity = /^-v+\d*$/.test(name) || name === '--verbosity';
    if (!verbosity && !(MANAGED_CRIU_OPTIONS as readonly string[]).includes(name)) return;
    out.push({
      path: ['criu', 'extra_args', index],
      value: arg,
      message: verbosity
        ? `${JSON.stringify(arg)} is set from criu.log_level; remove it and set criu.log_level (0-4)`
        : `${JSON.stringify(arg)} is set by remusd itself; remove it`,
    });
  });
  return out;
}

function metricsRules(config: Config, file: ConfigFile): RuleViolation[] {
  const { listen, allowRemote } = config.metrics;
  if (listen !== null && !allowRemote && !isLoopback(listen.host)) {
    const address = `${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${listen.port}`;
    return [
      {
        path: ['metrics', 'listen'],
        message:
          `"${address}" is not a loopback address; the metrics endpoint has no authentication, ` +
          'so use 127.0.0.1 or [::1], or set metrics.allow_remote: true',
      },
    ];
  }
  if (listen === null && file.metrics?.allow_remote !== undefined) {
    return [
      {
        path: ['metrics', 'allow_remote'],
        value: file.metrics.allow_remote,
        message: 'has no effect without metrics.listen; remove it or set metrics.listen',
      },
    ];
  }
  return [];
}

// The gate's own bound must hold at least two maximal packets; keys under a disabled output_commit do nothing.
function outputCommitRules(config: Config, file: ConfigFile): RuleViolation[] {
  const written = file.output_commit;
  if (written === undefined) return [];
  if (!config.outputCommit.enabled) {
    const idle = Object.entries(written).filter(([key]) => key !== 'enabled');
    return idle.map(([key, value]) => ({
      path: ['output_commit', key],
      value,
      message: 'has no effect while output_commit.enabled is not true; remove it or set enabled: true',
    }));
  }
  const violations: RuleViolation[] = [];
  if (config.outputCommit.interface === null) {
    violations.push({
      path: ['output_commit', 'interface'],
      message:
        "is required with output_commit.enabled: name the host-side end of the workload's veth (its ingress is the workload's output)",
    });
  }
  if (config.outputCommit.inboundDuringDump === 'hold' && config.network === null) {
    violations.push({
      path: ['output_commit', 'inbound_during_dump'],
      value: written.inbound_during_dump,
      message:
        "hold needs a network section: only there does remusd choose CRIU's --network-lock (with criu.extra_args alone, CRIU's own lock stays); add one or use drop",
    });
  }
  if (config.outputCommit.inboundDuringDump === 'hold' && config.outputCommit.mechanism === 'plug') {
    violations.push({
      path: ['output_commit', 'inbound_during_dump'],
      value: written.inbound_during_dump,
      message: 'hold needs the TUN gate (mechanism tun or auto); the plug gate cannot hold inbound packets',
    });
  }
  violations.push(...degradeRules(file, config.outputCommit.releaseAfter, config.fencing));
  if (config.outputCommit.maxHeldBytes < MIN_HELD_BYTES) {
    violations.push({
      path: ['output_commit', 'max_held'],
      value: written.max_held,
      message: `${formatBytes(config.outputCommit.maxHeldBytes)} is below the minimum of ${formatBytes(MIN_HELD_BYTES)} (two maximal packets held and one being read)`,
    });
  }
  return violations;
}

/** The TUN gate's smallest bound (src/gate/tun-options.h: two 64 KiB packets held, one being read, their headers). */
export const MIN_HELD_BYTES = 256 * 1024;

/** CRIU options remusd sets itself for a workload with a network section (src/criu/network.ts). */
export const NETWORK_CRIU_OPTIONS = [
  '--tcp-established',
  '--skip-in-flight',
  '--network-lock',
  '--external',
  '--inherit-fd',
] as const;

// The host address must be another host of the service's subnet; the default host interface (the
// namespace's name) must fit an interface name; CRIU's network options come from the section, not extra_args.
function networkRules(config: Config, file: ConfigFile): RuleViolation[] {
  const network = config.network;
  if (network === null) return [];
  const out: RuleViolation[] = [];
  const { address, hostAddress } = network;
  if (!isHostInSubnet(hostAddress, address) || hostAddress === address.address) {
    out.push({
      path: ['network', 'host_address'],
      value: file.network?.host_address,
      message:
        hostAddress === address.address
          ? `${hostAddress} is the service address itself; the host side needs another address of ${subnetOf(address)}`
          : `${hostAddress} is not a host address of ${subnetOf(address)} (network.address ${address.address}/${address.prefixLength}); use one of that subnet, or leave it out for ${firstHostAddress(address)}`,
    });
  }
  if (file.network?.host_interface === undefined && network.hostInterface.length > 15) {
    out.push({
      path: ['network', 'namespace'],
      value: network.namespace,
      message: `${JSON.stringify(network.namespace)} is longer than 15 characters, too long for the host-side interface that takes its name by default; set network.host_interface`,
    });
  }
  config.criu.extraArgs.forEach((arg, index) => {
    const name = arg.split('=')[0] ?? arg;
    if (!(NETWORK_CRIU_OPTIONS as readonly string[]).includes(name)) return;
    out.push({
      path: ['criu', 'extra_args', index],
      value: arg,
      message: `${JSON.stringify(arg)} is set by remusd itself for the network section (network.namespace ${network.namespace}); remove it`,
    });
  });
  return out;
}
