import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { parseRecords, readRecordsText, RecordsError } from '../../loop/record-reader.js';
import { RunTally } from '../../loop/summary.js';
import type { CheckpointRecord } from '../../model/record.js';
import { parsePhases } from '../../sim/parse.js';
import { scheduleOfPhases } from '../../sim/rate.js';
import { Scorecard, stepsOfSchedule, type NextStep } from '../../sim/scorecard.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { backInBandCell, table } from '../format.js';
import { printJson } from '../json.js';
import { guarded } from '../sim-options.js';

/** `remusd score`: the four measures `remusd compare` reports, for records of real (or simulated) runs. */
export const scoreCommand = defineCommand({
  command: 'score <records..>',
  describe: 'Score runs from their records.jsonl: share in band, back in band after steps, reversals, overruns',
  builder: (yargs: Argv) =>
    yargs
      .positional('records', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'records.jsonl files, one row each',
      })
      .option('workload', {
        type: 'string',
        describe:
          "The phases the workload ran (RATE:SECONDS,…, cycling from the first record), for the steps: e.g. the dirtier's --phases",
      })
      .option('page-size', { type: 'number', default: 4096, describe: 'Page size in bytes (for rates given as sizes)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print JSON' })
      .example("$0 score images/records.jsonl --workload '2000:20,200:20'", ''),
  handler: async (args) => {
    let steps: NextStep = () => undefined;
    if (args.workload !== undefined) {
      const phases = parsePhases(args.workload, args.pageSize);
      if (!phases.ok) throw new UserError(`--workload: ${phases.error}`, EXIT.usage);
      steps = stepsOfSchedule(guarded(() => scheduleOfPhases(phases.value, true)));
    }
    const rows = [];
    for (const file of args.records) {
      let text: string;
      try {
        text = await readRecordsText(file);
        // Checks every line and field the scorecard and the tally use; the band is in schema 2 records only.
        const old = parseRecords(text, file).find((r) => r.band === undefined);
        if (old !== undefined)
          throw new UserError(
            `${old.where}: the record carries no band (records before schema 2); score needs the band each decision was taken against`,
            EXIT.usage,
          );
      } catch (error) {
        throw error instanceof RecordsError ? new UserError(error.message, EXIT.usage) : error;
      }
      const records = text
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l): CheckpointRecord => JSON.parse(l)); // checked by parseRecords above
      const card = new Scorecard();
      card.startRun(steps);
      const tally = new RunTally();
      for (const record of records) {
        card.add(record);
        tally.add(record);
      }
      rows.push({
        file,
        policy: records[0]?.policy ?? '?',
        mode: records[0]?.mode,
        score: card.score(),
        summary: tally.summary(),
      });
    }
    if (args.json) {
      printJson(rows);
      return;
    }
    process.stdout.write(
      `${table([
        ['records', 'policy', 'in band', 'back in band', 'reversals', 'overruns', 'checkpoints', 'frozen median'],
        ...rows.map(({ file, policy, score: s, summary }) => [
          file,
          policy,
          `${(s.inBandShare * 100).toFixed(1)}%`,
          backInBandCell(s),
          `${(s.reversalShare * 100).toFixed(1)}%`,
          String(s.overruns),
          String(summary?.checkpoints ?? 0),
          summary === undefined ? '-' : `${summary.frozenMs.median.toFixed(1)} ms`,
        ]),
      ])}\n`,
    );
  },
});
