// `npm run bench`: runs the registered benches (all, or those named) and prints a table, or JSON with --json.
import { formatJson, formatTable, type BenchModule, type BenchRow } from './harness.js';

// Every bench, by name; add a module exporting run() and register it here.
const BENCHES: Record<string, () => Promise<BenchModule>> = {
  'decode-stats': () => import('./decode-stats.js'),
  supervisor: () => import('./supervisor.js'),
  simulator: () => import('./simulator.js'),
  delta: () => import('./delta.js'),
  'output-commit': () => import('./output-commit.js'),
  replication: () => import('./replication.js'),
  compaction: () => import('./compaction.js'),
  'chain-start': () => import('./chain-start.js'),
  'criu-realtime': () => import('./criu-realtime.js'),
  soak: () => import('./soak.js'),
  'soak-quick': async () => {
    const { soak } = await import('./soak.js');
    return { run: () => soak(150) };
  },
};
// Benches that run only when named: the soak takes an hour at its default length.
const ON_REQUEST = new Set(['soak', 'soak-quick']);

// Parses argv: --json, --help, and bench names; anything else is an error, not silently ignored.
function parseArgs(argv: readonly string[]): { json: boolean; names: string[] } | string {
  let json = false;
  const names: string[] = [];
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h')
      return `usage: node dist/bench/main.js [--json] [${Object.keys(BENCHES).join('|')} ...]`;
    else if (arg in BENCHES) names.push(arg);
    else return `unknown argument ${JSON.stringify(arg)}; benches: ${Object.keys(BENCHES).join(', ')}`;
  }
  return { json, names: names.length > 0 ? names : Object.keys(BENCHES).filter((name) => !ON_REQUEST.has(name)) };
}

// Runs the chosen benches one after another (never in parallel: they would skew each other).
async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (typeof args === 'string') {
    process.stderr.write(`${args}\n`);
    return args.startsWith('usage') ? 0 : 2;
  }
  const rows: BenchRow[] = [];
  for (const name of args.names) {
    const load = BENCHES[name];
    if (load === undefined) throw new Error(`no bench ${name}`); // parseArgs let only BENCHES' names through
    const bench = await load();
    rows.push(...(await bench.run()));
  }
  process.stdout.write(`${args.json ? formatJson(rows) : formatTable(rows)}\n`);
  return 0;
}

process.exitCode = await main();
