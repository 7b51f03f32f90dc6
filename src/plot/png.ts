// An SVG plot as PNG, drawn by resvg (Rust, prebuilt for each platform inside its npm package: no
// compiler, no browser, no system library). Loaded only by `remusd plot --out x.png`.

import { Resvg } from '@resvg/resvg-js';
import { FONT_FAMILY, fontFiles } from './font.js';

/** Pixels per SVG unit: 2 gives a 1920-pixel-wide figure, sharp on slides and in print at column width. */
export const PNG_SCALE = 2;

/** The SVG drawn as PNG bytes at PNG_SCALE, text in the bundled font only (system fonts are not looked at). */
export function svgToPng(svg: string): Buffer {
  const { regular, bold } = fontFiles();
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: PNG_SCALE },
    font: {
      loadSystemFonts: false,
      fontFiles: [regular, bold],
      defaultFontFamily: FONT_FAMILY,
      sansSerifFamily: FONT_FAMILY,
    },
  });
  return resvg.render().asPng();
}
