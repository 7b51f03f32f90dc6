// The layer order of src/, held by a test: every import in src/ is read, and a file may import only from its
// own folder or from a folder of a LOWER layer. So there are no cycles between folders, and the CLI, at the
// top, is imported by nobody.
//
// LAYERS is the one table of allowed directions. A new folder in src/ must be added to it (the test fails
// until it is) at the lowest layer whose folders it needs. README.md's source-layout table and
// CONTRIBUTING.md describe the same order in words.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../src');

/** Layer by layer, bottom first: each folder of src/ may import the folders of the layers below its own. */
const LAYERS: readonly (readonly string[])[] = [
  // 0: types and plain helpers that import nothing of ours. Files directly in src/ (paths.ts) count as this.
  ['model', 'units', 'fs'],
  // 1: pure policies; starting processes and reading /proc; the checkpoint store (directories, chains, run
  //    identity, file digests), used by loop/ and replicate/.
  ['policy', 'process', 'store'],
  // 2: the config (builds policies); the bundled workloads (build with process/).
  ['config', 'workload'],
  // 3: network namespaces (criu/ probes network workloads in them); key material.
  ['net', 'keys'],
  // 4: the only code that runs CRIU or reads its images.
  ['criu'],
  // 5: software deltas over CRIU images; the output gate that the loop drives each epoch.
  ['delta', 'gate'],
  // 6: the supervisor loop: the step, the checkpointer, records, metrics.
  ['loop'],
  // 7: what is built on the loop: replication and failover, fencing, the simulator, plots.
  ['replicate', 'fence', 'sim', 'plot'],
  // 8: entry points, imported by nobody.
  ['cli', 'bench'],
];

/**
 * Imports against the order that are known and still to be broken, folder to folder, each with its reason.
 * Keep this list short: an entry is a debt, not a rule.
 */
const KNOWN_EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [];

/** The layer of a folder of src/ ('' for files directly in src/, which sit at the bottom). */
function layerOf(folder: string): number | undefined {
  if (folder === '') return 0;
  const index = LAYERS.findIndex((layer) => layer.includes(folder));
  return index === -1 ? undefined : index;
}

/** Every .ts file under dir. */
function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** The relative specifiers a file imports or re-exports, static or dynamic (comments stripped first). */
export function relativeImports(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  for (const match of code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\1/g))
    found.push(match[2]!);
  return found;
}

/** The folder of src/ that a path lies in: its first component, or '' for files directly in src/. */
function folderOf(path: string): string {
  const parts = relative(SRC, path).split(sep);
  return parts.length > 1 ? parts[0]! : '';
}

interface Edge {
  file: string;
  specifier: string;
  from: string;
  to: string;
}

function crossFolderImports(): Edge[] {
  return tsFiles(SRC).flatMap((file) =>
    relativeImports(readFileSync(file, 'utf8'))
      .map((specifier) => ({
        file: relative(SRC, file),
        specifier,
        from: folderOf(file),
        to: folderOf(resolve(dirname(file), specifier)),
      }))
      .filter((edge) => edge.from !== edge.to),
  );
}

describe('the layer order of src/', () => {
  it('finds the imports it checks (a reader that finds none would pass anything)', () => {
    expect(
      relativeImports(
        "import { a } from '../x/a.js';\nexport * from './b.js';\nconst c = await import('../c/c.js');\nimport '../d.js';",
      ),
    ).toEqual(['../x/a.js', './b.js', '../c/c.js', '../d.js']);
    expect(relativeImports("// import { a } from '../x/a.js';\n/* from '../y.js' */ const url = 'http://x';")).toEqual(
      [],
    );
    expect(crossFolderImports().length).toBeGreaterThan(50);
  });

  it('has every folder of src/ in the table', () => {
    const folders = readdirSync(SRC).filter((name) => statSync(join(SRC, name)).isDirectory());
    const missing = folders.filter((folder) => layerOf(folder) === undefined);
    expect(
      missing,
      `src/${missing[0]}/ is not in the layer table: add it to LAYERS in test/layers.test.ts at the lowest layer ` +
        'whose folders it imports (and a line to the source-layout table in README.md)',
    ).toEqual([]);
  });

  it('imports only downwards: from its own folder or from a lower layer', () => {
    const wrong = crossFolderImports().filter((edge) => {
      const from = layerOf(edge.from);
      const to = layerOf(edge.to);
      if (from === undefined || to === undefined) return false; // reported by the test above
      if (KNOWN_EXCEPTIONS.some((e) => e.from === edge.from && e.to === edge.to)) return false;
      return to >= from;
    });
    const explain = (edge: Edge) =>
      `src/${edge.file} imports '${edge.specifier}': ${edge.from || 'src/'} (layer ${layerOf(edge.from)}) may not import ` +
      `${edge.to || 'src/'} (layer ${layerOf(edge.to)}); move the shared code down a layer, or the importer up`;
    expect(wrong.map(explain), 'the layer table is LAYERS in test/layers.test.ts').toEqual([]);
  });

  it('lets nobody import the CLI', () => {
    expect(
      crossFolderImports()
        .filter((edge) => edge.to === 'cli')
        .map((edge) => edge.file),
    ).toEqual([]);
  });
});
