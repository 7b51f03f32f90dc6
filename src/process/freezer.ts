// The freezer cgroup CRIU freezes the workload in when its arguments carry --freeze-cgroup. CRIU freezes
// it, seizes every task, and thaws it (criu/seize.c, freeze_processes): a CRIU that dies in between
// leaves it frozen for good, with the workload in it.

import { access, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The cgroup named by --freeze-cgroup in CRIU's arguments (`--freeze-cgroup P` or `--freeze-cgroup=P`). */
export function freezeCgroupOf(args: readonly string[]): string | undefined {
  for (const [index, arg] of args.entries()) {
    if (arg === '--freeze-cgroup') return args[index + 1];
    if (arg.startsWith('--freeze-cgroup=')) return arg.slice('--freeze-cgroup='.length);
  }
  return undefined;
}

// cgroup v1's freezer.state (THAWED, FREEZING, FROZEN), else v2's cgroup.freeze (0, 1).
async function stateFile(cgroup: string): Promise<{ path: string; v1: boolean }> {
  const v1 = join(cgroup, 'freezer.state');
  return access(v1).then(
    () => ({ path: v1, v1: true }),
    () => ({ path: join(cgroup, 'cgroup.freeze'), v1: false }),
  );
}

/** Whether the cgroup is frozen or freezing; undefined when its state cannot be read. */
export async function isFrozen(cgroup: string): Promise<boolean | undefined> {
  const { path, v1 } = await stateFile(cgroup);
  const state = (await readFile(path, 'utf8').catch(() => undefined))?.trim();
  if (state === undefined) return undefined;
  return v1 ? state !== 'THAWED' : state === '1';
}

/** Thaws the cgroup. */
export async function thaw(cgroup: string): Promise<void> {
  const { path, v1 } = await stateFile(cgroup);
  await writeFile(path, v1 ? 'THAWED' : '0');
}
