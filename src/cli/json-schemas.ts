// The --json output of every command, one zod schema each: the documentation of what a script may rely on
// (keys are snake_case; see src/cli/json.ts), and what test/cli/json-schemas.test.ts checks each real
// output against. Objects are strict: a field added to an output without being added here fails the tests.

import { z } from 'zod';
import { MEASURES } from '../sim/measures.js';

const count = z.number().int().nonnegative();
const real = z.number();
const availability = (detail: 'why' | 'detail') => z.strictObject({ available: z.boolean(), [detail]: z.string() });

/** `remusd check --json`: CRIU, the kernel and the checkpoint modes available here. */
export const checkOutput = z.strictObject({
  criu: z.strictObject({
    command: z.string(),
    source: z.string(),
    version: z.string().optional(),
    check_ok: z.boolean(),
    check_output: z.string(),
  }),
  kernel: z.string(),
  page_size: count,
  dirty_tracking: availability('detail'),
  modes: z.strictObject({
    'pre-dump': availability('why'),
    dump: availability('why'),
    delta: availability('why'),
    full: availability('why'),
  }),
  plug_qdisc: availability('detail'),
  /** Whether a workload with TCP sockets can be dumped here, proved by a real dump (src/criu/network-probe.ts). */
  network: z.strictObject({
    available: z.boolean(),
    detail: z.string(),
    fix: z.string().optional(),
    criu_error: z.string().optional(),
    dump_ms: real.optional(),
  }),
  /** The output-commit mechanism `auto` picks here (src/gate/probe.ts), or null when none works. */
  output_commit: z.strictObject({ mechanism: z.enum(['plug', 'tun']).nullable(), detail: z.string() }),
  /** Who keeps a network workload still during its dumps: remusd's lossless hold or CRIU's nftables lock. */
  network_lock: z.strictObject({ method: z.enum(['hold', 'nftables']), detail: z.string() }),
  /** Whether the dirty-size probe (src/process/dirty-probe.ts) works here, tried on a child process. */
  dirty_probe: availability('detail'),
});

/** `remusd stats DIR --json`: podman's --print-stats shape, plus what the directory really stores. */
export const statsOutput = z.strictObject({
  /** Every field CRIU wrote in stats-dump and stats-restore, by CRIU's names. */
  criu_statistics: z.record(z.string(), real),
  /** pages_written × page size, as CRIU counted them (before any delta rewrite). */
  checkpoint_size_bytes: count.optional(),
  page_size: count,
  /** Present when the directory holds page images: after a delta rewrite, only the changed pages. */
  stored: z.strictObject({ pages_bytes: count, parent: z.string().nullable() }).optional(),
});

const configError = z.strictObject({
  file: z.string(),
  path: z.string(),
  message: z.string(),
  value: z.unknown().optional(),
  line: count.optional(),
  column: count.optional(),
});

/** `remusd config check FILE --json`: the normalized config (bytes, ms, absolute paths), or every error. */
export const configCheckOutput = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), config: z.record(z.string(), z.unknown()) }),
  z.strictObject({ ok: z.literal(false), errors: z.array(configError).min(1) }),
]);

const band = z.strictObject({ lmin_bytes: count, lmax_bytes: count, min_ms: real, max_ms: real });
// A fitted cost (src/sim/cost.ts): ms = base + µs per page scanned and written; with its fit when fitted.
const fit = z.strictObject({
  samples: count,
  r2: real.nullable(),
  residual_p50_ms: real,
  residual_p90_ms: real,
  outliers: count,
  predictors: z.array(z.enum(['scanned', 'written'])),
});
const linearCost = z.strictObject({
  base_ms: real,
  per_scanned_page_us: real,
  per_written_page_us: real,
  fit: fit.optional(),
});
/** The cost model a simulation charged: the mode modelled and its costs (the rewrite is zero outside delta). */
const cost = z.strictObject({
  mode: z.enum(['full', 'delta', 'dump', 'pre-dump']),
  frozen: linearCost,
  criu_wall: linearCost,
  rewrite: linearCost,
});
const spread = { median: real, p90: real, max: real };

/** What a run of checkpoints amounted to (src/loop/summary.ts). */
export const runSummary = z.strictObject({
  checkpoints: count,
  in_band_share: real,
  overruns: count,
  interval_ms: z.strictObject({ mean: real, min: real, max: real }),
  size_bytes: z.strictObject(spread),
  frozen_ms: z.strictObject(spread),
  criu_wall_ms: z.strictObject({ median: real }),
  supervisor_overhead_ms: z.strictObject({ median: real, max: real }),
  chain_starts: count,
  stored_bytes: real,
  compactions: count,
  compaction_bytes: real,
});

/** A simulated run's summary: the run summary, the share of time frozen, and how many runs were pooled. */
export const simSummary = runSummary.extend({
  frozen_share: real,
  runs: count,
  stored_bytes_per_min: real,
  compaction_bytes_per_min: real,
});

/** `remusd demo --json`. */
export const demoOutput = z.strictObject({
  records: z.string(),
  mode: z.string().optional(),
  summary: runSummary.optional(),
});

const policySpec = z.looseObject({ kind: z.string() });

/** `remusd simulate --json`. */
export const simulateOutput = z.strictObject({
  policy: policySpec,
  workload: z.string(),
  seed: z.number().int(),
  duration_ms: real,
  band,
  cost,
  summary: simSummary.optional(),
  records: z.string().nullable(),
});

/** How a policy did on the measures (src/sim/scorecard.ts); a mean over nothing is null. */
const policyScore = z.strictObject({
  measured: count,
  in_band_share: real,
  steps: count,
  /** Over the steps that came back (mean and max null when none did); never: still out at the next step; at_end: when the run ended. */
  back_in_band: z.strictObject({
    mean: real.nullable(),
    max: real.nullable(),
    within_two: count,
    never: count,
    at_end: count,
  }),
  decisions: count,
  reversals: count,
  reversal_share: real,
  overruns: count,
});

/**
 * Each measure of src/sim/measures.ts across the seeds, each seed's run alone: median, p10 and p90 (linear
 * interpolation), n the seeds that had a value; null when none had one (no step of the rate: no back in band).
 */
const spreadAcrossSeeds = z.strictObject(
  Object.fromEntries(
    MEASURES.map((m) => [m.name, z.strictObject({ median: real, p10: real, p90: real, n: count }).nullable()]),
  ),
);

/** `remusd compare --json`: one row per policy, its seeds' runs pooled, and the spread across seeds. */
export const compareOutput = z.strictObject({
  workload: z.string(),
  seeds: z.array(z.number().int()),
  duration_ms: real,
  band,
  cost,
  policies: z.array(
    z.strictObject({
      policy: policySpec,
      summary: simSummary.optional(),
      score: policyScore,
      spread: spreadAcrossSeeds,
    }),
  ),
});

/** `remusd failover --dir DIR --json`. */
export const failoverOutput = z.strictObject({
  /** The run restored from (absent: a plain images directory without run.json), and why that run. */
  run: z.string().optional(),
  run_reason: z.string(),
  name: z.string(),
  pid: count,
  /** Newer checkpoints of the run passed over, each with the check it failed (naming the file). */
  skipped: z.array(z.strictObject({ name: z.string(), reason: z.string() })),
  chain_length: count,
  /** manifests: every file checked against the manifest kept beside it; structure: a plain images directory, no manifests. */
  verified: z.enum(['manifests', 'structure']),
  verify_ms: real,
  wall_ms: real,
  /** With --config and a network section: the namespace restored into, and the route moved to its veth. */
  network: z
    .strictObject({
      namespace: z.string(),
      address: z.string(),
      host_interface: z.string(),
      origin: z.string(),
      route_ms: real,
    })
    .optional(),
  criu: z.string(),
});

/** `remusd keys init DIR --json`: the pair's id, where each side's directory went, and until when it is valid. */
export const keysInitOutput = z.strictObject({
  pair: z.string().regex(/^[0-9a-f]{16}$/),
  primary: z.string(),
  backup: z.string(),
  not_after: z.string(),
});

/** `remusd calibrate --json`: the cost profile (the file `--out` wrote, when given). */
export const calibrateOutput = z.strictObject({
  out: z.string().nullable(),
  profile: z.strictObject({
    remusd_cost_profile: z.literal(1),
    measured: z.strictObject({
      host: z.string(),
      kernel: z.string(),
      criu: z.string(),
      at: z.string(),
      records: z.array(z.string()),
      note: z.string(),
    }),
    modes: z.partialRecord(
      z.enum(['full', 'delta', 'dump', 'pre-dump']),
      z.strictObject({ frozen: linearCost, criu_wall: linearCost, rewrite: linearCost }),
    ),
  }),
});

/** Every command's --json schema, by command. */
export const JSON_OUTPUTS = {
  check: checkOutput,
  stats: statsOutput,
  'config check': configCheckOutput,
  demo: demoOutput,
  simulate: simulateOutput,
  compare: compareOutput,
  calibrate: calibrateOutput,
  failover: failoverOutput,
  'keys init': keysInitOutput,
} as const;
