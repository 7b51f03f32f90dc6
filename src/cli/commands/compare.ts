import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { formatBytes, formatMs } from '../../config/units.js';
import { POLICY_KINDS } from '../../policy/index.js';
import { comparePolicies, type ComparisonRow } from '../../sim/compare.js';
import { MEASURES, spreadAcrossSeeds, type MeasureUnit } from '../../sim/measures.js';
import { jsonAndCsvOptions, refuseBothOnStdout, writeCsv, type CsvTable } from '../csv.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { backInBandCell, table } from '../format.js';
import { printJson } from '../json.js';
import { countOption } from '../options.js';
import { guardedAsync, policyOfKind, simOptions, simSetup } from '../sim-options.js';

/** `remusd compare`: every policy over the same workload or trace (same seeds), one summary line each. */
export const compareCommand = defineCommand({
  command: 'compare',
  describe: 'Compare policies on the same simulated workload or replayed trace, one line per policy',
  builder: (yargs: Argv) =>
    simOptions(yargs)
      .option('policies', {
        type: 'string',
        default: POLICY_KINDS.join(','),
        describe:
          "Policy kinds, comma-separated (options from the config for the config's kind, defaults for the others)",
      })
      .option('seeds', {
        type: 'string',
        default: '1',
        coerce: countOption('seeds'),
        describe: 'Runs per policy, with seeds --seed, --seed+1, …; their records are pooled',
      })
      .options(
        jsonAndCsvOptions(
          'Print the comparison as JSON',
          'Write each measure per policy as CSV: pooled, and median, p10, p90 across seeds',
        ),
      )
      .example("$0 compare --workload '8000:10,200:10,1500:10' --noise 0.2 --seeds 10", '')
      .example('$0 compare --trace .remusd/demo-images/records.jsonl', ''),
  handler: async (args) => {
    refuseBothOnStdout(args);
    const setup = await simSetup(args, { requireWorkload: true });
    const kinds = args.policies
      .split(',')
      .map((kind) => kind.trim())
      .filter((kind) => kind !== '');
    if (kinds.length === 0)
      throw new UserError(`--policies: name at least one of ${POLICY_KINDS.join(', ')}`, EXIT.usage);
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
        probeFor: (policy) => setup.probeFor(policy.kind),
        startLateFor: setup.startLateFor,
      }),
    );
    const workload = setup.workloadFor(args.seed).description;
    if (args.csv !== undefined) await writeCsv(args.csv, comparisonCsv(rows));
    if (args.json) {
      const policies = rows.map(({ policy, summary, score, perSeed }) => ({
        policy,
        summary,
        score,
        spread: spreadAcrossSeeds(perSeed),
      }));
      printJson({ workload, seeds, duration_ms: setup.durationMs, band: setup.band, cost: setup.cost, policies });
      return;
    }
    if (args.csv === '-') return;
    const b = setup.band;
    process.stdout.write(
      `${workload}\nband [${formatBytes(b.lminBytes)}, ${formatBytes(b.lmaxBytes)}], interval [${formatMs(b.minMs)}, ${formatMs(b.maxMs)}], ` +
        `${formatMs(setup.durationMs)} simulated × ${seeds.length} seed${seeds.length === 1 ? '' : 's'} (${seeds[0]}${seeds.length > 1 ? `..${seeds[seeds.length - 1]}` : ''})\n\n` +
        `${comparisonTable(rows)}\n` +
        (seeds.length > 1
          ? `\nAcross the ${seeds.length} seeds, each seed's run alone: median [p10, p90]\n\n${spreadTable(rows)}\n`
          : ''),
    );
  },
});

/** The columns of `compare --csv`: one row per policy and measure (src/sim/measures.ts lists the measures). */
export const COMPARE_CSV_COLUMNS = ['policy', 'measure', 'unit', 'pooled', 'median', 'p10', 'p90', 'seeds'] as const;

/** pooled: the measure over all seeds' runs together (as the table shows it); median, p10, p90: across seeds. */
export function comparisonCsv(rows: readonly ComparisonRow[]): CsvTable {
  return {
    columns: COMPARE_CSV_COLUMNS,
    rows: rows.flatMap((row) => {
      const spread = spreadAcrossSeeds(row.perSeed);
      const pooled = { summary: row.summary, score: row.score, runs: row.perSeed.length };
      return MEASURES.map((m) => {
        const s = spread[m.name] ?? undefined;
        return [row.policy.kind, m.name, m.unit, m.of(pooled), s?.median, s?.p10, s?.p90, s?.n ?? 0];
      });
    }),
  };
}

/** Measures down, policies across: each cell the median across seeds with [p10, p90]. */
export function spreadTable(rows: readonly ComparisonRow[]): string {
  const spreads = rows.map((row) => spreadAcrossSeeds(row.perSeed));
  return table([
    ['measure', ...rows.map((row) => row.policy.kind)],
    ...MEASURES.map((m) => [
      m.name,
      ...spreads.map((spread) => {
        const s = spread[m.name];
        return s === null || s === undefined
          ? '-'
          : `${formatIn(m.unit, s.median)} [${formatIn(m.unit, s.p10)}, ${formatIn(m.unit, s.p90)}]`;
      }),
    ]),
  ]);
}

function formatIn(unit: MeasureUnit, value: number): string {
  if (unit === 'share') return `${(value * 100).toFixed(value < 0.1 ? 2 : 1)}%`;
  if (unit === 'bytes') return formatBytes(value);
  if (unit === 'ms') return value < 100 ? `${value.toFixed(1)} ms` : formatMs(value);
  return value.toFixed(value < 10 ? 2 : 1);
}

const HEADER = [
  ...[
    'policy',
    'in band',
    'back in band',
    'reversals',
    'overruns',
    'checkpoints',
    'mean interval',
    'size median',
    'size p90',
    'frozen median',
    'frozen share',
  ],
  ...['chain starts', 'stored/min'],
];

/**
 * The comparison as a text table, one line per policy (checkpoints and overruns per run). "in band" leaves
 * out chain starts and each run's first 3 checkpoints; "back in band" is the mean and worst number of
 * checkpoints after a step of the rate (×2 or more) until the size was in band again, then the steps that
 * did not get back before the next step or before the run ended ("not back: …", format.ts); reversals are a share of decisions (see src/sim/scorecard.ts).
 */
export function comparisonTable(rows: readonly ComparisonRow[]): string {
  return table([
    HEADER,
    ...rows.map(({ policy, summary: s, score }) =>
      s === undefined
        ? [policy.kind, '-', '-', '-', '-', '0', '-', '-', '-', '-', '-', '0', '-']
        : [
            policy.kind,
            `${(score.inBandShare * 100).toFixed(1)}%`,
            backInBandCell(score),
            `${(score.reversalShare * 100).toFixed(1)}%`,
            perRun(s.overruns, s.runs),
            perRun(s.checkpoints, s.runs),
            formatMs(s.intervalMs.mean),
            formatBytes(s.sizeBytes.median),
            formatBytes(s.sizeBytes.p90),
            `${s.frozenMs.median.toFixed(1)} ms`,
            `${(s.frozenShare * 100).toFixed(2)}%`,
            perRun(s.chainStarts, s.runs),
            formatBytes(s.storedBytesPerMin),
          ],
    ),
  ]);
}

function perRun(total: number, runs: number): string {
  return runs === 1 ? String(total) : (total / runs).toFixed(1);
}
