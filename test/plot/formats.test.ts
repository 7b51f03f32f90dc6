// The figure formats of `remusd plot` (src/plot/png.ts, pdf.ts), checked by reading what was written back
// with independent parsers: the PNG's signature, IHDR size and pixels (pngjs), the PDF's page count,
// page size and fonts (pdf-lib), the SVG as XML (fast-xml-parser).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { PDFDict, PDFDocument, PDFName } from 'pdf-lib';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRecords } from '../../src/loop/record-reader.js';
import { packageRoot } from '../../src/paths.js';
import { svgSize, svgToPdf } from '../../src/plot/pdf.js';
import { PNG_SCALE, svgToPng } from '../../src/plot/png.js';
import { plotPoints } from '../../src/plot/points.js';
import { renderSvg } from '../../src/plot/render.js';
import { runPlotSpec } from '../../src/plot/spec.js';
import { BAND, fixture } from '../sim/helpers.js';

let svg: string;
beforeAll(async () => {
  const records = parseRecords(readFileSync(fixture('demo-delta-15s.records.jsonl'), 'utf8'), 'demo.jsonl');
  svg = await renderSvg(runPlotSpec(plotPoints(records, 'demo.jsonl', BAND), 'demo · delta · band 1MiB–8MiB'));
});

// Pixels darker than a light grey: text, axes, points and lines (the background is white, the band a pale green).
function darkPixels(png: PNG, region: { x0: number; y0: number; x1: number; y1: number }): number {
  let dark = 0;
  for (let y = region.y0; y < region.y1; y++) {
    for (let x = region.x0; x < region.x1; x++) {
      const i = (y * png.width + x) * 4;
      if (png.data[i]! + png.data[i + 1]! + png.data[i + 2]! < 3 * 128) dark += 1;
    }
  }
  return dark;
}

describe('plot formats', () => {
  it('SVG: well-formed XML with a size', () => {
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svgSize(svg)).toEqual({ width: expect.any(Number), height: expect.any(Number) });
    expect(svgSize(svg).width).toBeGreaterThan(760);
  });

  it('PNG: signature, IHDR at 2× the SVG, drawn (not blank), with the title in the bundled font', () => {
    const bytes = svgToPng(svg);
    expect(bytes.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
    const { width, height } = svgSize(svg);
    expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([width * PNG_SCALE, height * PNG_SCALE]);
    const png = PNG.sync.read(bytes);
    const colors = new Set<number>();
    for (let i = 0; i < png.data.length; i += 4 * 97) colors.add(png.data.readUInt32BE(i));
    expect(colors.size).toBeGreaterThan(10); // white, the band's green, the decisions' colours, greys, anti-aliasing
    expect(darkPixels(png, { x0: 0, y0: 0, x1: png.width, y1: png.height })).toBeGreaterThan(5000);
    // The title sits alone in the top 20 SVG units: dark pixels there are its letters, drawn with the
    // bundled font (resvg is told not to look at system fonts; without a font it draws no text at all).
    expect(darkPixels(png, { x0: 0, y0: 0, x1: 400 * PNG_SCALE, y1: 20 * PNG_SCALE })).toBeGreaterThan(200);
  });

  it('PDF: a header, one page the size of the SVG, every font embedded', async () => {
    const bytes = await svgToPdf(svg, 'demo');
    expect(bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    const pdf = await PDFDocument.load(bytes);
    expect(pdf.getPageCount()).toBe(1);
    const { width, height } = svgSize(svg);
    expect(pdf.getPage(0).getSize()).toEqual({ width, height });
    expect(pdf.getTitle()).toBe('demo');
    const dicts = pdf.context
      .enumerateIndirectObjects()
      .flatMap(([, object]) => (object instanceof PDFDict ? [object] : []));
    const ofType = (type: string) => dicts.filter((d) => d.get(PDFName.of('Type')) === PDFName.of(type));
    const fonts = ofType('Font');
    const descriptors = ofType('FontDescriptor');
    expect(fonts.length).toBeGreaterThan(0);
    // Every font is a CID font of embedded TrueType (no standard-14 font named for the reader to supply).
    expect(
      fonts.every((f) =>
        [PDFName.of('Type0'), PDFName.of('CIDFontType2')].includes(f.get(PDFName.of('Subtype')) as PDFName),
      ),
    ).toBe(true);
    expect(descriptors.length).toBeGreaterThan(0);
    expect(descriptors.every((d) => d.has(PDFName.of('FontFile2')))).toBe(true);
    expect(descriptors.map((d) => String(d.get(PDFName.of('FontName'))))).toEqual(
      expect.arrayContaining([expect.stringMatching(/\+DejaVuSans$/), expect.stringMatching(/\+DejaVuSans-Bold$/)]),
    );
  });

  // resvg and PDFKit cost memory no other command should carry (the supervisor loads commands on demand):
  // only png.ts and pdf.ts import them, and nothing imports those two but with import() from the plot command.
  it('the PNG and PDF renderers are loaded only when a plot asks for them', () => {
    const files = tsFiles(join(packageRoot(), 'src'));
    const importing = (pattern: RegExp) =>
      files.filter((f) => pattern.test(readFileSync(f, 'utf8'))).map((f) => relative(packageRoot(), f));
    expect(importing(/from '(@resvg\/resvg-js|pdfkit)'|require\)\('svg-to-pdfkit'\)/)).toEqual([
      'src/plot/pdf.ts',
      'src/plot/png.ts',
    ]);
    expect(importing(/from '[^']*\/plot\/(png|pdf)\.js'/)).toEqual([]);
    expect(importing(/import\('[^']*\/plot\/(png|pdf)\.js'\)/)).toEqual(['src/cli/commands/plot.ts']);
  });

  it('svgSize refuses an SVG without a size', () => {
    expect(() => svgSize('<svg viewBox="0 0 1 1"></svg>')).toThrow(/no width and height/);
  });
});

function tsFiles(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return tsFiles(path);
      return name.endsWith('.ts') ? [path] : [];
    });
}
