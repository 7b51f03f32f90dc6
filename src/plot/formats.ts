// Which file a plot is written as, by the --out file's extension (pure).

import { extname } from 'node:path';

/** The formats `remusd plot` writes, by extension. */
export const PLOT_FORMATS = ['svg', 'png', 'pdf'] as const;
export type PlotFormat = (typeof PLOT_FORMATS)[number];

/** The format of an output file by its extension (any case), or undefined for another extension. */
export function plotFormatOf(path: string): PlotFormat | undefined {
  const ext = extname(path).slice(1).toLowerCase();
  return PLOT_FORMATS.find((format) => format === ext);
}
