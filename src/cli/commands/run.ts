import type { Argv } from 'yargs';
import { afterDoubleDash, defineCommand, type ArgsOf } from '../command.js';
import { attachFacts, attachRefusal } from '../../process/attach-check.js';
import { absolute, loadConfigOrDefaults } from '../config-source.js';
import { usageError } from '../errors.js';
import { countOption, durationOption, pidOption } from '../options.js';
import { readPidFile } from '../../process/pid-file.js';
import { createLogger } from '../logger.js';
import type { Config } from '../../config/schema.js';
import { runWorkload } from '../run/run-workload.js';
import { DEFAULT_STOP_GRACE_MS, type WorkloadSpec } from '../run/workload-target.js';

const runOptions = (yargs: Argv) =>
  yargs
    .usage('$0 run [--config FILE] (--pid PID | --pid-file FILE | -- CMD [ARGS...])')
    .option('config', { type: 'string', describe: 'YAML config file (see config/); watched and re-read on SIGHUP' })
    .option('pid', {
      type: 'string',
      coerce: pidOption('pid'),
      describe: 'Attach to a running process (a session leader) instead of starting one',
    })
    .option('pid-file', {
      type: 'string',
      describe:
        'Attach to the process a pidfile names; refused if that process started after the file was written (a reused pid)',
    })
    .option('pid-namespace', {
      type: 'boolean',
      default: false,
      describe:
        'Start -- CMD as the init of its own pid namespace, so that a restore needs none of its host pids free (workload.pid_namespace in a config)',
    })
    .option('criu', { type: 'string', describe: 'criu command to use (overrides criu.path and REMUSD_CRIU)' })
    .option('records', { type: 'string', describe: 'Records file (JSON lines; default: records.file of the config)' })
    .option('workload-log', {
      type: 'string',
      describe: "Where a started workload's stdout/stderr go (default: workload.out in the images dir)",
    })
    .option('stop-workload', {
      type: 'boolean',
      default: false,
      describe:
        'Send SIGTERM to the workload when remusd stops, and SIGKILL to its tree if it still runs after --stop-grace',
    })
    .option('stop-grace', {
      type: 'string',
      coerce: durationOption('stop-grace', { minMs: 0, maxMs: 600_000 }),
      describe: `With --stop-workload: how long the workload has to exit after SIGTERM before SIGKILL (default ${DEFAULT_STOP_GRACE_MS / 1000}s, at most 10m)`,
    })
    .option('max-checkpoints', {
      type: 'string',
      coerce: countOption('max-checkpoints'),
      describe: 'Stop after this many checkpoints',
    })
    .option('duration', {
      type: 'string',
      coerce: durationOption('duration', { minMs: 0, exclusiveMin: true }),
      describe: 'Stop after this long (e.g. 30s, 10m, 720h; a unit is required)',
    })
    .option('print', { type: 'boolean', default: false, describe: 'Print a status line per checkpoint on stdout' })
    .parserConfiguration({ 'populate--': true })
    .example('$0 run --config config/production.yaml --pid 4242', 'Attach to process 4242')
    .example('$0 run --config config/demo.yaml -- ./my-server --port 8080', 'Start and supervise a command');

type RunArgs = ArgsOf<typeof runOptions>;

/** `remusd run`: supervise a workload with adaptive CRIU checkpoints for as long as it lives. */
export const runCommand = defineCommand({
  command: 'run',
  describe:
    'Supervise a workload: checkpoint it with CRIU again and again, adapting the interval to the checkpoint size',
  builder: runOptions,
  handler: async (args) => {
    const command = afterDoubleDash(args);
    const named = [args.pid !== undefined, args.pidFile !== undefined, command.length > 0].filter(Boolean).length;
    if (named > 1) throw usageError('name the workload once: one of --pid PID, --pid-file FILE or -- CMD [ARGS...]');
    if (args.pidNamespace && command.length === 0)
      throw usageError(
        '--pid-namespace starts -- CMD in a pid namespace; to attach, start the workload with `unshare --pid --fork setsid CMD` and give --pid the init (its child), or set workload.pid_namespace',
      );
    if (args.stopGrace !== undefined && !args.stopWorkload)
      throw usageError('--stop-grace applies to --stop-workload: give --stop-workload too');
    const config = await loadConfigOrDefaults(args.config);
    const workload = await workloadOf(args, command, config, named === 0);
    if ('pid' in workload) {
      // Refused here, before CRIU is even located: a target that cannot work fails in a second, not after five dumps.
      const refusal = attachRefusal(await attachFacts(workload.pid, config.criu.extraArgs.includes('--shell-job')));
      if (refusal !== undefined)
        throw usageError(`${args.pid !== undefined ? '--pid' : 'the workload, pid'} ${workload.pid} ${refusal}`);
    }
    process.exitCode = await runWorkload({
      config,
      configPath: absolute(args.config),
      criuFlag: args.criu,
      workload,
      recordsFile: absolute(args.records),
      stopWorkload: args.stopWorkload ? { graceMs: args.stopGrace ?? DEFAULT_STOP_GRACE_MS } : false,
      maxCheckpoints: args.maxCheckpoints,
      durationMs: args.duration,
      printRecords: args.print,
      log: await createLogger(),
    });
  },
});

// The workload from the command line, or from the config's workload section when the command line names none.
async function workloadOf(
  args: RunArgs,
  command: string[],
  config: Config,
  fromConfig: boolean,
): Promise<WorkloadSpec> {
  const where = `${args.config ?? 'the config'}: workload`;
  if (!fromConfig && config.workload !== null) {
    throw usageError(
      `${where} names the workload already; leave out --pid, --pid-file and -- CMD, or remove the workload section`,
    );
  }
  if (fromConfig && config.workload === null) {
    throw usageError(
      'name the workload: one of --pid PID, --pid-file FILE or -- CMD [ARGS...], or workload.command / workload.pid_file in --config',
    );
  }
  if (config.workload?.kind === 'command') {
    const { command: program, args: argv, log, pidNamespace } = config.workload;
    return { command: program, args: argv, logFile: log ?? absolute(args.workloadLog), resume: true, pidNamespace };
  }
  const pidFile = config.workload?.kind === 'pid-file' ? config.workload.pidFile : args.pidFile;
  if (pidFile !== undefined) {
    const named = await readPidFile(pidFile);
    if (!named.ok)
      throw usageError(`${config.workload === null ? '--pid-file' : `${where}.pid_file`} ${pidFile} ${named.error}`);
    return { pid: named.pid };
  }
  if (args.pid !== undefined) return { pid: args.pid };
  const [program, ...programArgs] = command;
  if (program === undefined)
    throw usageError('name the workload: one of --pid PID, --pid-file FILE or -- CMD [ARGS...]');
  return { command: program, args: programArgs, logFile: absolute(args.workloadLog), pidNamespace: args.pidNamespace };
}
