// The font every raster and PDF plot is drawn with: DejaVu Sans from the dejavu-fonts-ttf package, so the
// text of a PNG or PDF never depends on the fonts of the machine that drew it (a fresh CI machine has
// none: resvg then draws no text at all) and a PDF carries its glyphs (embedded, subset) rather than
// naming a font the reader must have.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The font family name the files below declare. */
export const FONT_FAMILY = 'DejaVu Sans';

/** The regular and bold faces (vega draws titles bold), as absolute paths to TrueType files. */
export function fontFiles(): { regular: string; bold: string } {
  return {
    regular: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans.ttf'),
    bold: require.resolve('dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf'),
  };
}
