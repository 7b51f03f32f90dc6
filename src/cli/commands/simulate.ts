import { writeFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { formatBytes, formatMs } from '../../config/units.js';
import { POLICY_KINDS } from '../../policy/index.js';
import { openRecordsFile, type RecordSink } from '../../loop/records.js';
import { runSimulation } from '../../sim/simulate.js';
import { MEASURES } from '../../sim/measures.js';
import { Scorecard } from '../../sim/scorecard.js';
import { SimTally, type SimSummary } from '../../sim/summary.js';
import { absolute } from '../config-source.js';
import { jsonAndCsvOptions, refuseBothOnStdout, writeCsv } from '../csv.js';
import { UserError } from '../errors.js';
import { runSummaryRows, table } from '../format.js';
import { printJson } from '../json.js';
import { guardedAsync, policyOfKind, simOptions, simSetup } from '../sim-options.js';
import { errorText } from '../../fs/error-code.js';

/** `remusd simulate`: runs the config's policy against a modelled workload in virtual time and sums it up. */
export const simulateCommand = defineCommand({
  command: 'simulate',
  describe: 'Run a policy against a modelled workload (or a replayed trace) in virtual time, with no CRIU',
  builder: (yargs: Argv) =>
    simOptions(yargs)
      .option('policy', {
        type: 'string',
        choices: POLICY_KINDS,
        describe: "Policy kind (default the config's; options from the config when it names the same kind)",
      })
      .option('records', {
        type: 'string',
        describe: 'Write the simulated records (records.jsonl lines, mode sim) to this file',
      })
      .options(
        jsonAndCsvOptions(
          'Print the summary as JSON',
          "Write the run's measures as CSV, one row each (policy, seed, measure, unit, value)",
        ),
      )
      .example("$0 simulate --workload '8000:10,200:10' --working-set 64MiB --noise 0.1 --seed 7", '')
      .example('$0 simulate --trace .remusd/demo-images/records.jsonl --policy predictive', ''),
  handler: async (args) => {
    refuseBothOnStdout(args);
    const setup = await simSetup(args, { requireWorkload: false });
    const policy = args.policy === undefined ? setup.config.policy : policyOfKind(args.policy, setup.config);
    const workload = setup.workloadFor(args.seed);
    const recordsFile = absolute(args.records);
    let sink: RecordSink | undefined;
    if (recordsFile !== undefined) {
      try {
        writeFileSync(recordsFile, '');
        sink = openRecordsFile(recordsFile);
      } catch (error) {
        throw new UserError(`--records ${recordsFile}: cannot write (${errorText(error)})`);
      }
    }
    // Streamed: the summary is computed as the run goes and records go straight to the file, so a day of
    // simulated checkpoints runs in constant memory.
    const tally = new SimTally(setup.durationMs);
    tally.startRun();
    // The scorecard's measures (in band after warm-up, back in band, reversals) are for --csv.
    const scorecard = new Scorecard();
    scorecard.startRun(workload.nextStep ?? (() => undefined), workload.nextChange);
    try {
      await guardedAsync(() =>
        runSimulation(
          {
            policy,
            band: setup.band,
            initialIntervalMs: setup.config.interval.initialMs,
            workload,
            cost: setup.cost,
            durationMs: setup.durationMs,
            pageSize: args.pageSize,
            retention: setup.retention,
            probe: setup.probeFor(policy.kind),
            startLate: setup.startLateFor(args.seed),
          },
          // Records are built only when --records wants them; the summary and score need only the numbers.
          sink === undefined ? undefined : (record) => sink.append(record),
          (facts) => {
            tally.addFacts(facts);
            scorecard.addFacts(facts);
          },
        ),
      );
    } finally {
      sink?.close();
    }
    const summary = tally.summary();
    if (args.csv !== undefined) {
      const result = { summary, score: scorecard.score(), runs: 1 };
      await writeCsv(args.csv, {
        columns: SIMULATE_CSV_COLUMNS,
        rows: MEASURES.map((m) => [policy.kind, args.seed, m.name, m.unit, m.of(result)]),
      });
      if (args.csv === '-') return;
    }
    if (args.json) {
      printJson({
        policy,
        workload: workload.description,
        seed: args.seed,
        duration_ms: setup.durationMs,
        band: setup.band,
        cost: setup.cost,
        summary,
        records: recordsFile ?? null,
      });
      return;
    }
    process.stdout.write(
      `${simulationReport(policy.kind, workload.description, setup.durationMs, summary, recordsFile)}\n`,
    );
  },
});

/** The columns of `simulate --csv`: one row per measure of src/sim/measures.ts. */
export const SIMULATE_CSV_COLUMNS = ['policy', 'seed', 'measure', 'unit', 'value'] as const;

// The human summary of one simulated run.
function simulationReport(
  policy: string,
  workload: string,
  durationMs: number,
  summary: SimSummary | undefined,
  recordsFile: string | undefined,
): string {
  const rows: string[][] = [
    ['policy', policy],
    ['workload', workload],
    ['simulated', formatMs(durationMs)],
  ];
  if (summary === undefined) rows.push(['checkpoints', '0 (the run ended before the first interval did)']);
  else {
    rows.push(
      ...runSummaryRows(summary),
      [
        'frozen',
        `median ${summary.frozenMs.median.toFixed(1)} ms, p90 ${summary.frozenMs.p90.toFixed(1)} ms, ${(summary.frozenShare * 100).toFixed(2)}% of the run`,
      ],
      ['CRIU wall', `median ${summary.criuWallMs.median.toFixed(1)} ms (modelled)`],
      ['chains', `${summary.chainStarts} started (full size), ${summary.compactions} compactions`],
      [
        'stored',
        `${formatBytes(summary.storedBytesPerMin)}/min (= shipped); compaction wrote ${formatBytes(summary.compactionBytesPerMin)}/min locally`,
      ],
    );
  }
  if (recordsFile !== undefined) rows.push(['records', recordsFile]);
  return table(rows);
}
