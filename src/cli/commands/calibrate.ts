import { cpus, hostname, release } from 'node:os';
import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { readRecords, RecordsError, type ReadRecord } from '../../loop/record-reader.js';
import { calibrate, CalibrationError } from '../../sim/calibrate.js';
import type { CostModel, CostProfile, FittedCost } from '../../sim/cost.js';
import { costProfileJson } from '../../sim/cost-profile.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { printJson } from '../json.js';

/** `remusd calibrate`: fits the cost model of each mode to real runs' records and writes a cost profile. */
export const calibrateCommand = defineCommand({
  command: 'calibrate <records..>',
  describe:
    'Fit the cost model (frozen time, CRIU wall time, delta rewrite) to records of real runs; write a cost profile for simulate/compare --cost',
  builder: (yargs: Argv) =>
    yargs
      .positional('records', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'records.jsonl files of remusd run (any real mode; several sizes give per-page slopes)',
      })
      .option('out', { type: 'string', describe: 'Write the cost profile (JSON) to this file' })
      .option('where', {
        type: 'string',
        describe: 'Where the runs were measured (default: this machine: host name, CPUs)',
      })
      .option('criu-version', { type: 'string', describe: 'The CRIU version the runs used (records do not say)' })
      .option('note', { type: 'string', describe: 'Anything else worth keeping with the profile (the load, the disk)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the profile as JSON' })
      .example('$0 calibrate run-a/records.jsonl run-b/records.jsonl --out cost.json', '')
      .example('$0 simulate --trace run-a/records.jsonl --cost cost.json', ''),
  handler: async (args) => {
    const records: ReadRecord[] = [];
    for (const file of args.records) {
      const read = await readRecords(file).catch((error: unknown) => {
        throw error instanceof RecordsError ? new UserError(error.message, EXIT.usage) : error;
      });
      records.push(...read);
    }
    let models: CostModel[];
    try {
      models = calibrate(records);
    } catch (error) {
      if (error instanceof CalibrationError || error instanceof RangeError)
        throw new UserError(error.message, EXIT.usage);
      throw error;
    }
    const starts = records.map((r) => r.startMs);
    const profile: CostProfile = {
      measured: {
        host: args.where ?? `${hostname()} (${cpus().length} CPUs), the machine that ran calibrate`,
        kernel: release(),
        criu: args.criuVersion ?? 'not recorded',
        at: `${new Date(Math.min(...starts)).toISOString()} to ${new Date(Math.max(...starts)).toISOString()}`,
        records: args.records,
        note: args.note ?? '',
      },
      modes: Object.fromEntries(models.map((m) => [m.mode, m])),
    };
    const json = costProfileJson(profile);
    if (args.out !== undefined) {
      await writeFile(args.out, `${JSON.stringify(json, null, 2)}\n`).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(`--out ${args.out}: cannot write (${error.code ?? error.message})`);
      });
    }
    if (args.json) {
      printJson({ out: args.out ?? null, profile: json });
      return;
    }
    process.stdout.write(
      `${fitTable(models)}\n${args.out === undefined ? '(no --out: profile not written)' : `profile written to ${args.out}`}\n`,
    );
  },
});

// One row per mode and cost: the coefficients and how well they fitted.
function fitTable(models: readonly CostModel[]): string {
  const rows = [
    [
      'mode',
      'cost',
      'base',
      'per page scanned',
      'per page written',
      'samples',
      'R²',
      'residual p50',
      'residual p90',
      'outliers',
    ],
  ];
  for (const m of models) {
    const parts: [string, FittedCost][] = [
      ['frozen', m.frozen],
      ['CRIU wall', m.criuWall],
    ];
    if (m.mode === 'delta') parts.push(['rewrite', m.rewrite]);
    for (const [name, c] of parts) {
      const f = c.fit;
      rows.push([
        m.mode,
        name,
        `${c.baseMs.toFixed(2)} ms`,
        `${c.perScannedPageUs.toFixed(3)} µs`,
        `${c.perWrittenPageUs.toFixed(3)} µs`,
        String(f?.samples ?? 0),
        f?.r2 === null || f === undefined ? '—' : f.r2.toFixed(3),
        f === undefined ? '—' : `${f.residualP50Ms.toFixed(2)} ms`,
        f === undefined ? '—' : `${f.residualP90Ms.toFixed(2)} ms`,
        String(f?.outliers ?? 0),
      ]);
    }
  }
  return table(rows);
}
