// The options `remusd simulate` and `remusd compare` share: which config, which workload (synthetic
// phases or a replayed trace), its noise and seed, and how long to run. Turns them into the sim inputs.

import { join } from 'node:path';
import type { Argv } from 'yargs';
import type { ArgsOf } from './command.js';
import { bandOf, type Config } from '../config/schema.js';
import { parseSize } from '../config/units.js';
import type { Band } from '../model/policy.js';
import { probeInForce } from '../config/probe-setting.js';
import { POLICY_KINDS, resolvePolicySpec, type PolicyKind, type PolicySpec } from '../policy/index.js';
import { packageRoot } from '../paths.js';
import type { CheckpointMode } from '../model/record.js';
import type { CostModel } from '../sim/cost.js';
import { CostProfileError, loadCostProfile, modelForMode } from '../sim/cost-profile.js';
import { DEFAULT_COST_PROFILE } from '../sim/default-cost.js';
import { parseBursts, parsePhases } from '../sim/parse.js';
import { scheduleOfPhases } from '../sim/rate.js';
import type { SimProbe, SimRetention, SimulationInput } from '../sim/simulate.js';
import { readTrace, TraceError, traceWorkload } from '../sim/trace.js';
import { createWorkload, type Workload } from '../sim/workload.js';
import { loadConfigOrDefaults } from './config-source.js';
import { DEMO_MIB, DEMO_PHASES } from './demo-workload.js';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { countOption, durationOption, integerOption, numberOption } from './options.js';

const DEMO_WORKING_SET = `${DEMO_MIB}MiB`;
const DEFAULT_DURATION_MS = 60_000;

const SIM_MODES = ['delta', 'full', 'dump', 'pre-dump'] as const;

/** Adds the shared options to a command's builder. */
export function simOptions<T>(yargs: Argv<T>) {
  return yargs
    .option('config', {
      type: 'string',
      default: join(packageRoot(), 'config', 'demo.yaml'),
      describe: 'Config file: band, interval and policy',
    })
    .option('workload', {
      type: 'string',
      describe: `Phases RATE:SECONDS,… (pages/s or like 32MiB/s; they cycle). Default for simulate: the demo's ${DEMO_PHASES}`,
    })
    .option('trace', {
      type: 'string',
      describe: 'Replay the dirty rate recorded in a records.jsonl (mode delta, dump or pre-dump)',
    })
    .conflicts('workload', 'trace')
    .option('working-set', {
      type: 'string',
      describe: `Working set W: the dirty set saturates there (default ${DEMO_WORKING_SET}; with --trace the largest pages_written)`,
    })
    .option('noise', {
      type: 'string',
      default: '0',
      coerce: numberOption('noise', 0),
      describe: 'Multiplicative lognormal noise on the rate (log-sd, e.g. 0.1), per 100 ms slot',
    })
    .option('bursts', { type: 'string', describe: "Random bursts RATE:DURATION:EVERY (e.g. '20000:200ms:5s')" })
    .option('seed', {
      type: 'string',
      default: '1',
      coerce: integerOption('seed'),
      describe: 'Seed of the noise and bursts (an integer)',
    })
    .option('duration', {
      type: 'string',
      coerce: durationOption('duration', { minMs: 0, exclusiveMin: true }),
      describe: `Simulated time (default 60s; with --trace the trace's length)`,
    })
    .option('page-size', {
      type: 'string',
      default: '4096',
      coerce: countOption('page-size'),
      describe: 'Page size in bytes',
    })
    .option('cost', {
      type: 'string',
      describe: "Cost profile written by `remusd calibrate` (default: the one measured on this project's machine)",
    })
    .option('probe', {
      type: 'boolean',
      describe:
        "Model the dirty-size probe (start early at the aim, defer while under lmin × 1.1) for every policy; --no-probe: for none. Default: the config's probe.enabled (auto: for the adaptive policies, not in mode full)",
    })
    .option('read-share', {
      type: 'string',
      coerce: numberOption('read-share', 0),
      describe: 'With --probe: pages the workload only reads, per page it writes (they set the accessed bits too)',
    })
    .option('mode', {
      type: 'string',
      choices: SIM_MODES,
      describe:
        "Checkpoint mode to model (what CRIU scans and writes, and whose costs apply). Default: the trace's mode, else the config's unless auto, else delta",
    });
}

/** The shared options as yargs parses them. */
export type SimArgs = ArgsOf<typeof simOptions<object>>;

/** What the shared options resolve to. */
export interface SimSetup {
  config: Config;
  band: Band;
  /** The workload for a seed (the same seed, the same workload). */
  workloadFor(seed: number): Workload;
  durationMs: number;
  cost: CostModel;
  /** The config's chain rules: the simulated loop starts chains as `remusd run` would. */
  retention: SimRetention;
  /** The dirty-size probe for a policy kind (--probe, --no-probe, or the config's probe.enabled), or undefined when off. */
  probeFor(kind: PolicyKind): SimProbe | undefined;
  /** How late checkpoints start for a seed: a trace's late starts, drawn with the seed; none for --workload. */
  startLateFor(seed: number): SimulationInput['startLate'];
}

/** Loads the config and builds the workload the options describe; throws UserError (status 2) on bad input. */
export async function simSetup(args: SimArgs, options: { requireWorkload: boolean }): Promise<SimSetup> {
  const config = await loadConfigOrDefaults(args.config);
  if (options.requireWorkload && args.workload === undefined && args.trace === undefined) {
    throw new UserError('name the workload: --workload RATE:SECONDS,… or --trace records.jsonl', EXIT.usage);
  }
  const workingSetPages =
    args.workingSet === undefined ? undefined : pagesOf('--working-set', args.workingSet, args.pageSize);
  const bursts = args.bursts === undefined ? undefined : orUsage('--bursts', parseBursts(args.bursts, args.pageSize));
  let workloadFor: (seed: number) => Workload;
  let startLateFor: SimSetup['startLateFor'] = () => undefined;
  let naturalMs: number | undefined;
  let traceMode: CheckpointMode | undefined;
  if (args.trace !== undefined) {
    if (bursts !== undefined)
      throw new UserError('--bursts applies to synthetic workloads (--workload), not to --trace', EXIT.usage);
    const trace = await readTrace(args.trace).catch((error: unknown) => {
      throw error instanceof TraceError ? new UserError(error.message, EXIT.usage) : error;
    });
    naturalMs = trace.durationMs;
    traceMode = trace.mode;
    workloadFor = (seed) => guarded(() => traceWorkload(trace, { workingSetPages, noise: args.noise, seed }));
    startLateFor = (seed) => ({ samplesMs: trace.lateStartsMs, seed });
  } else {
    const text = args.workload ?? DEMO_PHASES;
    const phases = orUsage('--workload', parsePhases(text, args.pageSize));
    const cap = workingSetPages ?? pagesOf('--working-set', DEMO_WORKING_SET, args.pageSize);
    const schedule = guarded(() => scheduleOfPhases(phases, true));
    workloadFor = (seed) =>
      guarded(() =>
        createWorkload({
          schedule,
          workingSetPages: cap,
          noise: args.noise,
          bursts,
          seed,
          description: `phases ${text} (pages/s:s, cycling), W ${cap} pages${args.noise > 0 ? `, noise ${args.noise}` : ''}${args.bursts === undefined ? '' : `, bursts ${args.bursts}`}`,
        }),
      );
  }
  workloadFor(args.seed); // validates the parameters once, before any run
  const configMode = config.checkpoint.mode === 'auto' ? undefined : config.checkpoint.mode;
  const mode = args.mode ?? traceMode ?? configMode ?? 'delta';
  const cost = await costFor(args.cost, mode);
  const durationMs = args.duration ?? naturalMs ?? DEFAULT_DURATION_MS;
  const { maxChainBytes, ...retention } = config.checkpoint.retention;
  const setting = args.probe ?? config.probe.enabled;
  const probing = (kind: PolicyKind) => probeInForce(setting, mode, kind);
  if (!POLICY_KINDS.some(probing) && args.readShare !== undefined)
    throw new UserError('--read-share applies to the dirty-size probe, which is off here: add --probe', EXIT.usage);
  const { minPeriodMs, maxPeriodMs, defer } = config.probe;
  const probe: SimProbe = { minPeriodMs, maxPeriodMs, defer, readShare: args.readShare ?? 0 };
  return {
    probeFor: (kind) => (probing(kind) ? probe : undefined),
    config,
    band: bandOf(config),
    workloadFor,
    durationMs,
    cost,
    retention: { ...retention, maxChainBytes: maxChainBytes ?? undefined },
    startLateFor,
  };
}

// The cost model of a mode: from --cost FILE, or the default profile.
async function costFor(file: string | undefined, mode: CheckpointMode): Promise<CostModel> {
  try {
    const profile = file === undefined ? DEFAULT_COST_PROFILE : await loadCostProfile(file);
    return modelForMode(profile, mode, file ?? 'the default cost profile');
  } catch (error) {
    if (error instanceof CostProfileError) throw new UserError(`--cost ${error.message}`, EXIT.usage);
    throw error;
  }
}

/** The policy spec for a kind: the config's options when the config names that kind, else the defaults. */
export function policyOfKind(kind: string, config: Config): PolicySpec {
  const known = POLICY_KINDS.find((k) => k === kind);
  if (known === undefined)
    throw new UserError(`unknown policy ${JSON.stringify(kind)}; use one of ${POLICY_KINDS.join(', ')}`, EXIT.usage);
  return config.policy.kind === known ? config.policy : resolvePolicySpec({ kind: known });
}

/** Awaits f(), turning a RangeError (a model parameter out of range) into a usage error. */
export async function guardedAsync<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(error.message, EXIT.usage);
    throw error;
  }
}

/** Runs f, turning a RangeError (a model parameter out of range) into a usage error. */
export function guarded<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(error.message, EXIT.usage);
    throw error;
  }
}

// The parsed value, or a usage error naming the option (and the value, for errors that follow it).
function orUsage<T>(option: string, parsed: { ok: true; value: T } | { ok: false; error: string }, value?: string): T {
  if (!parsed.ok)
    throw new UserError(
      `${option}${value === undefined ? ':' : ` ${JSON.stringify(value)}`} ${parsed.error}`,
      EXIT.usage,
    );
  return parsed.value;
}

function pagesOf(option: string, text: string, pageSize: number): number {
  const bytes = orUsage(option, parseSize(text), text);
  if (bytes < pageSize) throw new UserError(`${option} ${text} is less than a page (${pageSize} B)`, EXIT.usage);
  return Math.floor(bytes / pageSize);
}
