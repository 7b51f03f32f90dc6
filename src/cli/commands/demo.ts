import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Argv } from 'yargs';
import { defineCommand } from '../command.js';
import { bandOf } from '../../config/schema.js';
import { formatBytes, formatMs } from '../../config/units.js';
import { summarize } from '../../loop/summary.js';
import type { CheckpointRecord } from '../../model/record.js';
import { packageRoot } from '../../paths.js';
import { ensureDirtierBinary } from '../../workload/build.js';
import { loadConfigOrDefaults } from '../config-source.js';
import { runSummaryRows, table } from '../format.js';
import { printJson } from '../json.js';
import { writeStdout } from '../stdout.js';
import { secondsOption } from '../options.js';
import { DEMO_MIB, DEMO_PHASES } from '../demo-workload.js';
import { createLogger } from '../logger.js';
import { runWorkload } from '../run/run-workload.js';
import { DEFAULT_STOP_GRACE_MS } from '../run/workload-target.js';

// Against the demo band [1 MiB, 8 MiB] the demo workload's interval has to shrink, then grow, then settle: the
// adaptation is visible wherever the size is the dirty set (modes dump, pre-dump, delta). In mode full every
// checkpoint is the whole 64 MiB and the interval simply goes to its minimum.
const DEMO_WORKLOAD = ['--mib', String(DEMO_MIB), '--phases', DEMO_PHASES];

/** `remusd demo`: supervises the bundled phased workload for a while with real CRIU and sums it up. */
export const demoCommand = defineCommand({
  command: 'demo',
  describe: 'Supervise the bundled phased workload with real CRIU for a while, then summarize',
  builder: (yargs: Argv) =>
    yargs
      .option('seconds', {
        type: 'string',
        default: '30',
        coerce: secondsOption('seconds'),
        describe: 'How long to run: seconds, or a duration (90s, 2m)',
      })
      .option('config', {
        type: 'string',
        default: join(packageRoot(), 'config', 'demo.yaml'),
        describe: 'Config file',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON' }),
  handler: async (args) => {
    const config = await loadConfigOrDefaults(args.config);
    const binary = await ensureDirtierBinary();
    const log = await createLogger();
    log.info(
      `demo: ${formatMs(args.seconds)} of ${DEMO_WORKLOAD.join(' ')}; band [${formatBytes(config.thresholds.lminBytes)}, ${formatBytes(config.thresholds.lmaxBytes)}]`,
    );
    const status = await runWorkload({
      config,
      configPath: args.config,
      criuFlag: undefined,
      workload: { command: binary, args: DEMO_WORKLOAD, logFile: undefined },
      recordsFile: undefined,
      stopWorkload: { graceMs: DEFAULT_STOP_GRACE_MS },
      maxCheckpoints: undefined,
      durationMs: args.seconds, // in ms: secondsOption converts
      printRecords: !args.json && !process.stderr.isTTY, // with --json, stdout is the JSON alone
      fresh: true, // the summary is about this run only
      log,
    });
    const records = (await readFile(config.records.file, 'utf8'))
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line): CheckpointRecord => JSON.parse(line)); // written by this run, just now
    const summary = summarize(records, bandOf(config));
    if (args.json) printJson({ records: config.records.file, mode: records[0]?.mode, summary });
    else if (summary !== undefined) {
      writeStdout(
        `\n${table([
          ['mode', String(records[0]?.mode)],
          ...runSummaryRows(summary),
          ['frozen', `median ${summary.frozenMs.median.toFixed(1)} ms, p90 ${summary.frozenMs.p90.toFixed(1)} ms`],
          ['CRIU wall', `median ${summary.criuWallMs.median.toFixed(1)} ms`],
          ['remusd overhead', `median ${summary.supervisorOverheadMs.median.toFixed(2)} ms per checkpoint`],
          ['records', config.records.file],
        ])}\n`,
      );
    }
    process.exitCode = status;
  },
});
