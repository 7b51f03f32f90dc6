// An SVG plot as a one-page vector PDF: svg-to-pdfkit draws the SVG with PDFKit, one PDF point per SVG
// unit, and every text in the bundled font, embedded as a subset (pdffonts shows it "emb yes"), so the
// PDF renders the same without any font installed. Loaded only by `remusd plot --out x.pdf`.

import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import { fontFiles } from './font.js';

type SvgToPdf = (
  doc: PDFKit.PDFDocument,
  svg: string,
  x: number,
  y: number,
  options: { assumePt: boolean; fontCallback: (family: string, bold: boolean) => string },
) => void;
// svg-to-pdfkit is CommonJS without types: require() gives `any`, and its one export is the function typed here.
// oxlint-disable-next-line typescript/no-unsafe-type-assertion
const svgToPdfkit = createRequire(import.meta.url)('svg-to-pdfkit') as SvgToPdf;

/** The SVG's size in units, from its width and height attributes; throws a RangeError without them. */
export function svgSize(svg: string): { width: number; height: number } {
  const root = /<svg\b[^>]*>/.exec(svg)?.[0] ?? '';
  const width = Number(/\swidth="([\d.]+)"/.exec(root)?.[1]);
  const height = Number(/\sheight="([\d.]+)"/.exec(root)?.[1]);
  if (!(width > 0 && height > 0)) throw new RangeError('the SVG has no width and height to size the PDF page by');
  return { width, height };
}

/** The SVG as the bytes of a one-page PDF the size of the SVG. */
export async function svgToPdf(svg: string, title: string): Promise<Buffer> {
  const { width, height } = svgSize(svg);
  const { regular, bold } = fontFiles();
  const doc = new PDFDocument({ size: [width, height], margin: 0, info: { Title: title, Creator: 'remusd plot' } });
  doc.registerFont('plot', regular);
  doc.registerFont('plot-bold', bold);
  const chunks: Buffer[] = [];
  doc.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  svgToPdfkit(doc, svg, 0, 0, { assumePt: true, fontCallback: (_family, isBold) => (isBold ? 'plot-bold' : 'plot') });
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}
