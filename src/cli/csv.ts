// --csv FILE (or - for stdout) on simulate, compare and plot: RFC 4180 text written by csv-stringify,
// a header line, CRLF line ends, fields quoted when they hold a comma, a quote or a line break. Numbers are
// written as JavaScript prints them (full precision, no units: the column name carries the unit); a value
// that does not exist (NaN, null, undefined) is an empty field; booleans are true/false.

import { writeFile } from 'node:fs/promises';
import { stringify } from 'csv-stringify/sync';
import { UserError } from './errors.js';
import { EXIT } from './exit-codes.js';
import { writeStdout } from './stdout.js';

/** One CSV cell before formatting. */
export type CsvValue = string | number | boolean | null | undefined;

/** A table for --csv: its column names (the documented set of a command) and its rows, in that order. */
export interface CsvTable {
  columns: readonly string[];
  rows: readonly (readonly CsvValue[])[];
}

/** The table as RFC 4180 text. */
export function csvText(table: CsvTable): string {
  const cells = table.rows.map((row) => {
    if (row.length !== table.columns.length)
      throw new Error(`CSV row of ${row.length} cells for ${table.columns.length} columns`);
    return row.map(cell);
  });
  return stringify([[...table.columns], ...cells], { record_delimiter: 'windows' });
}

function cell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  return String(value);
}

/** Writes the table to `target` (a file, or - for stdout); a file that cannot be written is a UserError naming it. */
export async function writeCsv(target: string, table: CsvTable): Promise<void> {
  const text = csvText(table);
  if (target === '-') {
    writeStdout(text);
    return;
  }
  await writeFile(target, text).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(`--csv ${target}: cannot write (${error.code ?? error.message})`);
  });
}

/** The --csv option's yargs definition (nargs 1: yargs would otherwise not take `-` as its value). */
export function csvOption(describe: string) {
  return { type: 'string' as const, nargs: 1, describe: `${describe} (- for stdout)` };
}

/** --json and --csv of a command that prints a summary: each may go to stdout, not both. */
export function jsonAndCsvOptions(describeJson: string, describeCsv: string) {
  return { json: { type: 'boolean', default: false, describe: describeJson }, csv: csvOption(describeCsv) } as const;
}

/** Refuses `--json --csv -`: the two would interleave on stdout. */
export function refuseBothOnStdout(args: { json: boolean; csv?: string | undefined }): void {
  if (args.json && args.csv === '-')
    throw new UserError('--json and --csv - both write to stdout; give --csv a file name', EXIT.usage);
}
