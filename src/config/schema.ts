// The config file's shape (strict: unknown keys are errors), the normalized Config the rest of remusd uses,
// and how the defaults (defaults.ts) turn one into the other.
//
// Relative paths (checkpoint.dir, records.file, criu.path when it contains a "/") are resolved against the
// directory of the config file, never the working directory, so a config means the same thing wherever
// remusd is started from. A criu.path without "/" is a command name looked up in PATH.

import { isAbsolute, join, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { NetworkConfig } from '../model/network.js';
import type { Band } from '../model/policy.js';
import type { CheckpointMode } from '../model/record.js';
import { POLICY_KINDS, resolvePolicySpec, type PolicySpec, type ResolvedPolicySpec } from '../policy/index.js';
import { degradeAfterField, normalizeDegradeAfter } from './degrade.js';
import { fencingSection, normalizeFencing, type FencingConfig } from './fencing.js';
import { normalizeWorkload, workloadSection, type WorkloadConfig } from './workload.js';
import { firstHostAddress } from '../units/ipv4.js';
import { CONFIG_DEFAULTS } from './defaults.js';
import type { ProbeSetting } from './probe-setting.js';
import * as field from './fields.js';
import type { Endpoint } from '../units/endpoint.js';

/** checkpoint.mode values: a CRIU checkpoint mode, or auto to let remusd choose from what the kernel offers. */
export const CHECKPOINT_MODES = ['auto', 'pre-dump', 'dump', 'full', 'delta'] as const satisfies readonly (
  | 'auto'
  | CheckpointMode
)[];

/** output_commit.release_after: what makes a checkpoint safe enough to let its epoch's output out. */
export const RELEASE_AFTER = ['fsync', 'backup-ack'] as const;
/** output_commit.mechanism: how packets are held (auto: the plug qdisc where the kernel has it, else tun). */
export const GATE_MECHANISMS = ['auto', 'tun', 'plug'] as const;
/**
 * output_commit.inbound_during_dump: what happens to packets for the workload while CRIU dumps it. hold: the
 * TUN gate queues them and lets them in after the dump (remusd's lossless lock; CRIU runs with
 * --network-lock skip); drop: CRIU's nftables lock drops them and the clients resend. auto: hold with the TUN
 * gate and a network section, else drop.
 */
export const INBOUND_DURING_DUMP = ['auto', 'hold', 'drop'] as const;

/** A checkpoint.mode value. */
export type CheckpointModeSetting = (typeof CHECKPOINT_MODES)[number];

/** The file as written, after each value is checked and converted (sizes to bytes, durations to ms). */
export const fileSchema = z.strictObject({
  thresholds: z.strictObject({ lmin: field.size, lmax: field.size }).optional(),
  interval: z.strictObject({ initial: field.duration(1), min: field.duration(1), max: field.duration(1) }).optional(),
  policy: z
    .strictObject({
      kind: field.oneOf(POLICY_KINDS),
      shrink: field.policyParameter('shrink'),
      grow: field.policyParameter('grow'),
      window: field.policyParameter('window'),
      change: field.policyParameter('change'),
      deadband: field.policyParameter('deadband'),
      target: field.policyParameter('target'),
    })
    .optional(),
  checkpoint: z
    .strictObject({
      mode: field.oneOf(CHECKPOINT_MODES),
      dir: field.path,
      retention: z
        .strictObject({
          keep: field.integer(1),
          new_chain_every: field.integer(1),
          max_chain_bytes: field.size,
          compact: field.flag,
          compact_at: field.integer(4),
          compact_after_ship: field.flag,
        })
        .optional(),
    })
    .optional(),
  criu: z
    .strictObject({
      path: field.path,
      extra_args: field.stringList,
      log_level: field.integer(0, 4),
      timeout: field.duration(1),
      realtime_priority: field.integerOrNone(1, 99),
    })
    .optional(),
  failures: z
    .strictObject({
      max_consecutive: field.integer(1),
      backoff_initial: field.duration(0),
      backoff_max: field.duration(0),
    })
    .optional(),
  records: z.strictObject({ file: field.path, max_bytes: field.size, keep_files: field.integer(1, 100) }).optional(),
  metrics: z.strictObject({ listen: field.listen, allow_remote: field.flag }).optional(),
  network: z
    .strictObject({
      namespace: field.namespaceName,
      address: field.ipv4Cidr,
      host_address: field.ipv4Address,
      host_interface: field.interfaceName,
    })
    .superRefine((network, ctx) => {
      const required = (key: string, what: string) =>
        ctx.addIssue({ code: 'custom', path: [key], message: `is required in the network section: write ${what}` });
      if (network.namespace === undefined) required('namespace', "the network namespace's name, e.g. remusd-web");
      if (network.address === undefined)
        required('address', 'the service address with its prefix length, e.g. 10.88.0.2/24');
    })
    .optional(),
  output_commit: z
    .strictObject({
      enabled: field.flag,
      release_after: field.oneOf(RELEASE_AFTER),
      mechanism: field.oneOf(GATE_MECHANISMS),
      interface: field.interfaceName,
      max_held: field.size,
      inbound_during_dump: field.oneOf(INBOUND_DURING_DUMP),
      degrade_after: degradeAfterField,
    })
    .optional(),
  probe: z
    .strictObject({
      enabled: field.flagOrAuto,
      min_period: field.duration(1),
      max_period: field.duration(1),
      defer: field.flag,
    })
    .optional(),
  fencing: fencingSection,
  workload: workloadSection,
});

/** The file after per-value checks, before defaults and cross-key rules. */
export type ConfigFile = z.output<typeof fileSchema>;

/** The normalized config: every default filled in, sizes in bytes, durations in ms, paths absolute. */
export interface Config {
  thresholds: { lminBytes: number; lmaxBytes: number };
  interval: { initialMs: number; minMs: number; maxMs: number };
  policy: ResolvedPolicySpec;
  checkpoint: {
    mode: CheckpointModeSetting;
    /** Images directory, absolute. */
    dir: string;
    retention: {
      /** Checkpoints kept on disk. */
      keep: number;
      /** Every N-th checkpoint starts a new chain with no parent. */
      newChainEvery: number;
      /** A chain reaching this many bytes starts a new one; null: no limit. */
      maxChainBytes: number | null;
      /** Mode delta: flatten old links in the background instead of starting new chains. */
      compact: boolean;
      /** With compact: a chain this long is compacted (new_chain_every is then only the hard bound). */
      compactAt: number;
      /**
       * With compact and `remusd ship` beside: flatten only links the backup holds (shipped.json), so that the
       * backup is never sent a flattened base in full; the usual link once the chain nears new_chain_every.
       */
      compactAfterShip: boolean;
    };
  };
  criu: {
    /** The criu binary (absolute, or a command name for PATH); null: remusd's own lookup. */
    path: string | null;
    extraArgs: string[];
    logLevel: number;
    /** How long one dump may run before remusd kills CRIU (at a safe point for the workload: src/criu/safe-kill.ts). */
    timeoutMs: number;
    /** Dumps run CRIU at SCHED_FIFO with this priority (src/criu/realtime.ts); null: normal scheduling. */
    realtimePriority: number | null;
  };
  failures: { maxConsecutive: number; backoffInitialMs: number; backoffMaxMs: number };
  records: {
    /** records.jsonl, absolute. */
    file: string;
    /** Rotate the file (to file.1, file.2, …) once it passes this many bytes: months of records stay bounded. */
    maxBytes: number;
    /** Rotated files kept besides the current one. */
    keepFiles: number;
  };
  metrics: { listen: Endpoint | null; allowRemote: boolean };
  /** The workload's own network namespace with a veth to the host; null: the workload shares the host's. */
  network: NetworkConfig | null;
  /** Remus' output commit: the workload's outbound packets wait until the checkpoint covering them is safe. */
  outputCommit: {
    enabled: boolean;
    /** fsync: the checkpoint is written and fsynced here; backup-ack: `remusd ship` got the backup's ack. */
    releaseAfter: (typeof RELEASE_AFTER)[number];
    mechanism: (typeof GATE_MECHANISMS)[number];
    /** The host-side interface whose ingress carries the workload's output (its veth's host end). */
    interface: string | null;
    /** Bound on held bytes; past it new packets are dropped (TCP resends them), never released early. */
    maxHeldBytes: number;
    inboundDuringDump: (typeof INBOUND_DURING_DUMP)[number];
    /** backup-ack: how long without an ack before epochs are released on local fsync (null: never; src/config/degrade.ts). */
    degradeAfterMs: number | null;
  };
  /**
   * The dirty-size probe (src/loop/probe-rule.ts): while waiting for the next checkpoint, read the workload's
   * touched memory every interval/8 within [minPeriodMs, maxPeriodMs] and start once it reaches the aim;
   * with defer, wait past the interval (up to interval.max) while it is under lmin × 1.1. `auto`: on where it
   * has something to aim at (src/config/probe-setting.ts).
   */
  probe: { enabled: ProbeSetting; minPeriodMs: number; maxPeriodMs: number; defer: boolean };
  /** The lease that keeps two hosts from both running the workload (src/fence/). */
  fencing: FencingConfig;
  /** The workload `remusd run` protects, when the config names it (src/config/workload.ts). */
  workload: WorkloadConfig;
}

/** Fills in defaults, converts names to the normalized form and resolves paths against baseDir. */
export function normalizeConfig(file: ConfigFile, baseDir: string): Config {
  const d = CONFIG_DEFAULTS;
  const minMs = file.interval?.min ?? d.minMs;
  const maxMs = file.interval?.max ?? d.maxMs;
  const dir = resolveFrom(baseDir, file.checkpoint?.dir ?? d.dir);
  const criuPath = file.criu?.path;
  const network = networkOf(file.network);
  const fencing = normalizeFencing(file.fencing, baseDir);
  const releaseAfter = file.output_commit?.release_after ?? d.releaseAfter;
  return {
    thresholds: {
      lminBytes: file.thresholds?.lmin ?? d.lminBytes,
      lmaxBytes: file.thresholds?.lmax ?? d.lmaxBytes,
    },
    interval: { initialMs: file.interval?.initial ?? Math.min(Math.max(d.initialMs, minMs), maxMs), minMs, maxMs },
    policy: resolvePolicySpec(policySpecOf(file.policy)),
    checkpoint: {
      mode: file.checkpoint?.mode ?? d.mode,
      dir,
      retention: {
        keep: file.checkpoint?.retention?.keep ?? d.keep,
        newChainEvery: file.checkpoint?.retention?.new_chain_every ?? d.newChainEvery,
        maxChainBytes: file.checkpoint?.retention?.max_chain_bytes ?? null,
        compact: file.checkpoint?.retention?.compact ?? d.compact,
        compactAt: file.checkpoint?.retention?.compact_at ?? d.compactAt,
        compactAfterShip: file.checkpoint?.retention?.compact_after_ship ?? d.compactAfterShip,
      },
    },
    criu: {
      path: criuPath === undefined ? null : criuPath.includes('/') ? resolveFrom(baseDir, criuPath) : criuPath,
      extraArgs: file.criu?.extra_args?.filter((arg): arg is string => arg !== undefined) ?? [],
      logLevel: file.criu?.log_level ?? d.logLevel,
      timeoutMs: file.criu?.timeout ?? d.criuTimeoutMs,
      realtimePriority: file.criu?.realtime_priority === undefined ? d.realtimePriority : file.criu.realtime_priority,
    },
    failures: {
      maxConsecutive: file.failures?.max_consecutive ?? d.maxConsecutive,
      backoffInitialMs: file.failures?.backoff_initial ?? d.backoffInitialMs,
      backoffMaxMs: file.failures?.backoff_max ?? d.backoffMaxMs,
    },
    records: {
      file: file.records?.file === undefined ? join(dir, d.recordsName) : resolveFrom(baseDir, file.records.file),
      maxBytes: file.records?.max_bytes ?? d.recordsMaxBytes,
      keepFiles: file.records?.keep_files ?? d.recordsKeepFiles,
    },
    metrics: { listen: file.metrics?.listen ?? null, allowRemote: file.metrics?.allow_remote ?? false },
    network,
    outputCommit: {
      enabled: file.output_commit?.enabled ?? false,
      releaseAfter,
      mechanism: file.output_commit?.mechanism ?? d.gateMechanism,
      // The workload's output enters the host at its veth's host side: the network section names it.
      interface: file.output_commit?.interface ?? network?.hostInterface ?? null,
      maxHeldBytes: file.output_commit?.max_held ?? d.maxHeldBytes,
      inboundDuringDump: file.output_commit?.inbound_during_dump ?? 'auto',
      degradeAfterMs: normalizeDegradeAfter(file.output_commit?.degrade_after, releaseAfter, fencing),
    },
    probe: {
      enabled: file.probe?.enabled ?? d.probeEnabled,
      minPeriodMs: file.probe?.min_period ?? d.probeMinPeriodMs,
      maxPeriodMs: file.probe?.max_period ?? d.probeMaxPeriodMs,
      defer: file.probe?.defer ?? d.probeDefer,
    },
    fencing,
    workload: normalizeWorkload(file.workload, baseDir),
  };
}

// The network section with its defaults (validation made namespace and address present).
function networkOf(network: ConfigFile['network']): NetworkConfig | null {
  if (network?.namespace === undefined || network.address === undefined) return null;
  return {
    namespace: network.namespace,
    address: network.address,
    hostAddress: network.host_address ?? firstHostAddress(network.address),
    hostInterface: network.host_interface ?? network.namespace,
  };
}

// The policy section as a spec; options that do not apply to the kind are left for the rules to reject.
function policySpecOf(policy: ConfigFile['policy']): PolicySpec {
  const kind = policy?.kind ?? CONFIG_DEFAULTS.policyKind;
  switch (kind) {
    case 'fixed':
      return { kind };
    case 'threshold':
      return { kind, shrink: policy?.shrink, grow: policy?.grow };
    case 'predictive':
      return {
        kind,
        window: policy?.window,
        change: policy?.change,
        deadband: policy?.deadband,
        target: policy?.target,
      };
  }
}

function resolveFrom(baseDir: string, path: string): string {
  return isAbsolute(path) ? normalize(path) : resolve(baseDir, path);
}

/** The band the policies work within, from a config. */
export function bandOf(config: Config): Band {
  return {
    lminBytes: config.thresholds.lminBytes,
    lmaxBytes: config.thresholds.lmaxBytes,
    minMs: config.interval.minMs,
    maxMs: config.interval.maxMs,
  };
}
