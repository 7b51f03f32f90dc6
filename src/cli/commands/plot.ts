import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { bandOf } from '../../config/schema.js';
import { packageRoot } from '../../paths.js';
import { readRecords, RecordsError } from '../../loop/record-reader.js';
import { plotPoints } from '../../plot/points.js';
import { renderSvg } from '../../plot/render.js';
import { runPlotSpec } from '../../plot/spec.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { guarded } from '../sim-options.js';

interface PlotArgs {
  records: string;
  out: string;
  config: string;
  title?: string;
  spec: boolean;
}

/** `remusd plot`: interval and size over time of a records.jsonl (real or simulated), as SVG. */
export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot <records>',
  describe: 'Plot interval and size over time from a records.jsonl (real or simulated) as SVG',
  builder: (yargs: Argv) =>
    yargs
      .positional('records', { type: 'string', demandOption: true, describe: 'records.jsonl of remusd run, demo or simulate' })
      .option('out', { type: 'string', demandOption: true, describe: 'SVG file to write' })
      .option('config', { type: 'string', default: join(packageRoot(), 'config', 'demo.yaml'), describe: 'Config whose band and interval bounds to draw, for records that do not carry their band (before schema 2)' })
      .option('title', { type: 'string', describe: 'Plot title (default: the records file name)' })
      .option('spec', { type: 'boolean', default: false, describe: 'Write the Vega-Lite spec (JSON) instead of the SVG' })
      .example('$0 plot .remusd/demo-images/records.jsonl --out demo.svg', '') as unknown as Argv<PlotArgs>,
  handler: async (args: ArgumentsCamelCase<PlotArgs>) => {
    const config = await loadConfigOrDefaults(args.config);
    const records = await readRecords(args.records).catch((error: unknown) => {
      throw error instanceof RecordsError ? new UserError(error.message, EXIT.usage) : error;
    });
    const points = guarded(() => plotPoints(records, args.records));
    // The band the run itself recorded (its last one, after any reload); the config's for older records.
    const band = records.at(-1)?.band ?? bandOf(config);
    const spec = runPlotSpec(points, band, args.title ?? basename(args.records));
    const output = args.spec ? `${JSON.stringify(spec, null, 2)}\n` : await renderSvg(spec);
    await writeFile(args.out, output).catch((error: NodeJS.ErrnoException) => {
      throw new UserError(`--out ${args.out}: cannot write (${error.code ?? error.message})`);
    });
    process.stdout.write(`${args.out}: ${points.length} checkpoints over ${points[points.length - 1]!.t.toFixed(1)} s\n`);
  },
};
