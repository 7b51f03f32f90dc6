// The `workload` config section: which process `remusd run --config FILE` protects, so that a unit
// (remusd@NAME with /etc/remusd/NAME.yaml) names its workload in its config and nowhere else.
//
//   workload:
//     command: [/usr/bin/redis-server, --port, "6379"]   # start this (argv; a relative path: from this file)
//     log: redis.out                                     # its stdout/stderr (default: workload.out in checkpoint.dir)
//     pid_namespace: true                                # as the init of its own pid namespace (failover needs no free pid)
// or
//   workload:
//     pid_file: /run/redis.pid                           # attach to the process this names (checked against reuse)

import { isAbsolute, normalize, resolve } from 'node:path';
import { z } from 'zod';
import type { KeyPath } from './errors.js';
import * as field from './fields.js';

export const workloadSection = z
  .strictObject({
    command: z.array(
      field.field('a string', (value) =>
        typeof value === 'string' && value !== '' && !value.includes('\0')
          ? { ok: true as const, value }
          : { ok: false as const, error: 'is not allowed; each argument must be a non-empty string (quote numbers)' },
      ),
    ),
    log: field.path,
    pid_namespace: z.boolean(),
    pid_file: field.path,
  })
  .partial()
  .optional();

type WorkloadFile = z.output<typeof workloadSection>;

/** The workload the config names; null: the command line names it (--pid, --pid-file or -- CMD). */
export type WorkloadConfig =
  | { kind: 'command'; command: string; args: string[]; log: string | null; pidNamespace: boolean }
  | { kind: 'pid-file'; pidFile: string }
  | null;

/** The section with paths resolved against baseDir (a command name without "/" is looked up in PATH). */
export function normalizeWorkload(file: WorkloadFile, baseDir: string): WorkloadConfig {
  const from = (path: string) => (isAbsolute(path) ? normalize(path) : resolve(baseDir, path));
  const argv = file?.command?.filter((arg): arg is string => arg !== undefined) ?? [];
  if (argv.length > 0) {
    const [program = '', ...args] = argv;
    return {
      kind: 'command',
      command: program.includes('/') ? from(program) : program,
      args,
      log: file?.log === undefined ? null : from(file.log),
      pidNamespace: file?.pid_namespace === true,
    };
  }
  if (file?.pid_file !== undefined) return { kind: 'pid-file', pidFile: from(file.pid_file) };
  return null;
}

/** Exactly one of command and pid_file; log only with command. */
export function workloadRules(file: WorkloadFile): { path: KeyPath; message: string }[] {
  if (file === undefined) return [];
  const at = (key: string): KeyPath => ['workload', key];
  if (file.command !== undefined && file.pid_file !== undefined) {
    return [
      {
        path: at('pid_file'),
        message:
          'and workload.command both name the workload; keep one (command: remusd starts it; pid_file: it attaches)',
      },
    ];
  }
  if (file.command !== undefined && file.command.length === 0)
    return [
      {
        path: at('command'),
        message: 'is empty; give the program and its arguments, e.g. [/usr/bin/redis-server, --port, "6379"]',
      },
    ];
  if (file.command === undefined && file.pid_file === undefined)
    return [{ path: ['workload'], message: 'names no workload; give workload.command or workload.pid_file' }];
  if (file.log !== undefined && file.command === undefined)
    return [
      {
        path: at('log'),
        message: 'applies to a workload remusd starts (workload.command); a pid_file workload writes its own output',
      },
    ];
  if (file.pid_namespace !== undefined && file.command === undefined)
    return [
      {
        path: at('pid_namespace'),
        message:
          'applies to a workload remusd starts (workload.command); start a pid_file workload with `unshare --pid --fork setsid CMD` yourself and name the init',
      },
    ];
  return [];
}
