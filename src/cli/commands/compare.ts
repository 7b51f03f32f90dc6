import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { formatBytes, formatMs } from '../../config/units.js';
import { POLICY_KINDS } from '../../policy/index.js';
import { comparePolicies, type ComparisonRow } from '../../sim/compare.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { printJson } from '../json.js';
import { countOption } from '../options.js';
import { guardedAsync, policyOfKind, simOptions, simSetup, type SimArgs } from '../sim-options.js';

interface CompareArgs extends SimArgs {
  policies: string;
  seeds: number;
  json: boolean;
}

/** `remusd compare`: every policy over the same workload or trace (same seeds), one summary line each. */
export const compareCommand: CommandModule<object, CompareArgs> = {
  command: 'compare',
  describe: 'Compare policies on the same simulated workload or replayed trace, one line per policy',
  builder: (yargs: Argv) =>
    simOptions(yargs)
      .option('policies', { type: 'string', default: POLICY_KINDS.join(','), describe: "Policy kinds, comma-separated (options from the config for the config's kind, defaults for the others)" })
      .option('seeds', { type: 'string', default: '1', coerce: countOption('seeds'), describe: 'Runs per policy, with seeds --seed, --seed+1, …; their records are pooled' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the comparison as JSON' })
      .example("$0 compare --workload '8000:10,200:10,1500:10' --noise 0.2 --seeds 10", '')
      .example('$0 compare --trace .remusd/demo-images/records.jsonl', '') as unknown as Argv<CompareArgs>,
  handler: async (args: ArgumentsCamelCase<CompareArgs>) => {
    const setup = await simSetup(args, { requireWorkload: true });
    const kinds = args.policies.split(',').map((kind) => kind.trim()).filter((kind) => kind !== '');
    if (kinds.length === 0) throw new UserError(`--policies: name at least one of ${POLICY_KINDS.join(', ')}`, EXIT.usage);
    const policies = kinds.map((kind) => policyOfKind(kind, setup.config));
    const seeds = Array.from({ length: args.seeds }, (_, i) => args.seed + i);
    const rows = await guardedAsync(() =>
      comparePolicies({
        policies,
        seeds,
        workloadFor: setup.workloadFor,
        band: setup.band,
        initialIntervalMs: setup.config.interval.initialMs,
        cost: setup.cost,
        durationMs: setup.durationMs,
        pageSize: args.pageSize,
        retention: setup.retention,
      }),
    );
    const workload = setup.workloadFor(args.seed).description;
    if (args.json) {
      printJson({ workload, seeds, duration_ms: setup.durationMs, band: setup.band, cost: setup.cost, policies: rows });
      return;
    }
    const b = setup.band;
    process.stdout.write(
      `${workload}\nband [${formatBytes(b.lminBytes)}, ${formatBytes(b.lmaxBytes)}], interval [${formatMs(b.minMs)}, ${formatMs(b.maxMs)}], ` +
        `${formatMs(setup.durationMs)} simulated × ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds[0]}${seeds.length > 1 ? `..${seeds[seeds.length - 1]}` : ''})\n\n` +
        `${comparisonTable(rows)}\n`,
    );
  },
};

const HEADER = ['policy', 'in band', 'back in band', 'reversals', 'overruns', 'checkpoints', 'mean interval', 'size median', 'size p90', 'frozen median', 'frozen share'];

/**
 * The comparison as a text table, one line per policy (checkpoints and overruns per run). "in band" leaves
 * out chain starts and each run's first 3 checkpoints; "back in band" is the mean and worst number of
 * checkpoints after a step of the rate (×2 or more) until the size was in band again, "never" counting
 * steps it did not get back before the next; reversals are a share of decisions (see src/sim/scorecard.ts).
 */
export function comparisonTable(rows: readonly ComparisonRow[]): string {
  return table([
    HEADER,
    ...rows.map(({ policy, summary: s, score }) =>
      s === undefined
        ? [policy.kind, '-', '-', '-', '-', '0', '-', '-', '-', '-', '-']
        : [
            policy.kind,
            `${(score.inBandShare * 100).toFixed(1)}%`,
            score.steps === 0
              ? '-'
              : `${score.backInBand.mean.toFixed(2)}, max ${score.backInBand.max}${score.backInBand.never > 0 ? `, never ${score.backInBand.never}` : ''}`,
            `${(score.reversalShare * 100).toFixed(1)}%`,
            perRun(s.overruns, s.runs),
            perRun(s.checkpoints, s.runs),
            formatMs(s.intervalMs.mean),
            formatBytes(s.sizeBytes.median),
            formatBytes(s.sizeBytes.p90),
            `${s.frozenMs.median.toFixed(1)} ms`,
            `${(s.frozenShare * 100).toFixed(2)}%`,
          ],
    ),
  ]);
}

function perRun(total: number, runs: number): string {
  return runs === 1 ? String(total) : (total / runs).toFixed(1);
}
