import { writeFile } from 'node:fs/promises';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { bandOf } from '../../config/schema.js';
import { readRecords, RecordsError } from '../../loop/record-reader.js';
import { PLOT_CSV_COLUMNS, plotCsvRows } from '../../plot/csv.js';
import { PLOT_FORMATS, plotFormatOf, type PlotFormat } from '../../plot/formats.js';
import { plotPoints } from '../../plot/points.js';
import { runPlotSpec } from '../../plot/spec.js';
import { defaultTitle } from '../../plot/title.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { csvOption, writeCsv } from '../csv.js';
import { usageError, UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { guarded } from '../sim-options.js';
import { writeStdout } from '../stdout.js';

const FORMATS_TEXT = PLOT_FORMATS.map((f) => `.${f}`).join(', ');

/** `remusd plot`: interval and size over time of a records.jsonl (real or simulated), as SVG, PNG or PDF. */
export const plotCommand = defineCommand({
  command: 'plot <records>',
  describe: 'Plot interval and size over time from a records.jsonl (real or simulated) as SVG, PNG or PDF',
  builder: (yargs: Argv) =>
    yargs
      .positional('records', {
        type: 'string',
        demandOption: true,
        describe: 'records.jsonl of remusd run, demo or simulate',
      })
      .option('out', {
        type: 'string',
        describe: `Figure to write, by extension: ${FORMATS_TEXT} (PNG at 2× scale; PDF vector, font embedded)`,
      })
      .option('csv', csvOption('Also write the plotted data as CSV, one row per checkpoint'))
      .option('config', {
        type: 'string',
        describe:
          "Draw this config's band for every record instead of the band each record carries (needed for records before schema 2)",
      })
      .option('title', {
        type: 'string',
        describe: 'Plot title (default: run, mode, policy, band and date from the records)',
      })
      .option('spec', {
        type: 'boolean',
        default: false,
        describe: 'Write the Vega-Lite spec (JSON) to --out instead of the figure',
      })
      .example('$0 plot .remusd/demo-images/records.jsonl --out demo.png', '')
      .example('$0 plot sim.jsonl --out sim.pdf --csv sim.csv', ''),
  handler: async (args) => {
    if (args.out === undefined && args.csv === undefined)
      throw usageError(`name what to write: --out FILE (${FORMATS_TEXT}) and/or --csv FILE`);
    if (args.spec && args.out === undefined)
      throw usageError('--spec writes the Vega-Lite spec to --out FILE: name one');
    const format = args.out === undefined || args.spec ? undefined : formatOf(args.out);
    const override = args.config === undefined ? undefined : bandOf(await loadConfigOrDefaults(args.config));
    const records = await readRecords(args.records).catch((error: unknown) => {
      throw error instanceof RecordsError ? new UserError(error.message, EXIT.usage) : error;
    });
    const points = guarded(() => plotPoints(records, args.records, override));
    const summary = `${points.length} checkpoints over ${(points.at(-1)?.t ?? 0).toFixed(1)} s`;
    if (args.csv !== undefined)
      await writeCsv(args.csv, { columns: PLOT_CSV_COLUMNS, rows: plotCsvRows(records, points) });
    if (args.out !== undefined) {
      const title =
        args.title ?? defaultTitle(records, points, { source: args.records, bandFromConfig: override !== undefined });
      const spec = runPlotSpec(points, title);
      const output =
        format === undefined
          ? `${JSON.stringify(spec, null, 2)}\n`
          : await figure(await (await import('../../plot/render.js')).renderSvg(spec), format, title);
      await writeFile(args.out, output).catch((error: NodeJS.ErrnoException) => {
        throw new UserError(`--out ${args.out}: cannot write (${error.code ?? error.message})`);
      });
    }
    // With the CSV on stdout, the line saying what was written goes to stderr.
    const line = `${args.out ?? (args.csv === '-' ? 'CSV' : args.csv)}: ${summary}\n`;
    if (args.csv === '-') process.stderr.write(line);
    else writeStdout(line);
  },
});

function formatOf(out: string): PlotFormat {
  const format = plotFormatOf(out);
  if (format === undefined)
    throw usageError(`--out ${out}: not a format plot writes; name a file ending in ${FORMATS_TEXT}`);
  return format;
}

// The renderers are imported only when asked for: vega (for any figure), resvg and PDFKit cost memory that
// no other command, and no plot that does not draw that format, should carry.
async function figure(svg: string, format: PlotFormat, title: string): Promise<string | Buffer> {
  if (format === 'svg') return svg;
  if (format === 'png') return (await import('../../plot/png.js')).svgToPng(svg);
  return (await import('../../plot/pdf.js')).svgToPdf(svg, title);
}
