import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { criuLogTail, describeCriuEnd, runCriu } from '../../src/criu/exec.js';
import { isAlive } from '../../src/process/proc.js';
import { treeMembers } from '../../src/process/tree.js';
import { imagesDir } from '../helpers/criu.js';

// runCriu's own mechanics, with stand-in programs (real CRIU runs are everywhere else in test/).
describe('runCriu', () => {
  it("sends the program's stdout and stderr to LOG.out and passes -o LOG", async () => {
    const dir = await imagesDir('remusd-exec-');
    const program = join(dir, 'fake-criu');
    await writeFile(program, '#!/bin/sh\necho "args: $*"\necho oops >&2\nexit 3\n');
    await chmod(program, 0o755);
    const log = join(dir, 'criu.log');
    const run = await runCriu({ command: program, source: 'flag' }, ['dump', '-t', '1'], { logFile: log });
    expect(run).toMatchObject({ exitCode: 3, timedOut: false, logFile: log });
    expect(await readFile(`${log}.out`, 'utf8')).toBe(`args: dump -t 1 -o ${log}\noops\n`);
  });

  it('kills the whole tree of a CRIU that hangs past its time limit: its group and the children that left it', async () => {
    const dir = await imagesDir('remusd-exec-');
    const program = join(dir, 'hung-criu');
    const pids = join(dir, 'pids');
    // Like a hung restore: helpers in CRIU's group, and a forked task that called setsid() (restored
    // tasks do) and so left the group. A group kill alone, or a kill of the top process, leaves some.
    await writeFile(
      program,
      `#!/bin/sh\necho $$ > ${pids}\nsleep 60 &\necho $! >> ${pids}\nsetsid sh -c 'echo $$ >> ${pids}; exec sleep 60' &\nwhile [ $(wc -l < ${pids}) -lt 3 ]; do :; done\nexec sleep 60\n`,
    );
    await chmod(program, 0o755);
    const started = Date.now();
    const run = await runCriu({ command: program, source: 'flag' }, [], {
      logFile: join(dir, 'criu.log'),
      timeoutMs: 500,
    });
    expect(run.timedOut).toBe(true);
    expect(run.signal).toBe('SIGKILL');
    // The tree sleeps 60 s: a process the kill missed would hold the run that long. 20 s leaves a loaded
    // machine 40x the 500 ms timeout to start CRIU and kill the tree (5 s was an absolute bound without room).
    expect(Date.now() - started).toBeLessThan(20_000);
    const tree = (await readFile(pids, 'utf8')).trim().split('\n').map(Number);
    expect(tree).toHaveLength(3);
    expect(run.killed?.sort()).toEqual(expect.arrayContaining(tree));
    expect(await survivors(tree)).toEqual([]);
    expect(await treeMembers(tree[0]!, tree[0]!)).toEqual([]); // nothing left in CRIU's process group
    expect(describeCriuEnd(run)).toMatch(/^timed out after \d+ ms; its whole tree was killed \(3 processes: pids /);
  });

  it('a CRIU that cannot be started is a failed run with the reason, not an exception', async () => {
    const dir = await imagesDir('remusd-exec-');
    const run = await runCriu({ command: join(dir, 'missing-criu'), source: 'flag' }, [], {
      logFile: join(dir, 'criu.log'),
    });
    expect(run.exitCode).toBeUndefined();
    expect(run.startError).toMatch(/ENOENT/);
  });
});

describe('criuLogTail', () => {
  it("is never empty: an empty log is named, and CRIU's own output follows the log", async () => {
    const dir = await imagesDir('remusd-exec-');
    const log = join(dir, 'criu.log');
    expect(await criuLogTail(log)).toBe(`(no CRIU log at ${log})`);
    await writeFile(
      log,
      "(00.000) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE for self: Operation not permitted\n",
    );
    expect(await criuLogTail(log)).toBe(`(CRIU's log ${log} is empty)`);
    await writeFile(
      log,
      '(00.001) Warn (criu/kerndat.c:1799): Hardware breakpoints do not seem to work\n(00.002) restoring task 42\n',
    );
    await writeFile(`${log}.out`, 'something on stderr\n');
    // No error logged (a hang): the last lines say where CRIU was.
    expect(await criuLogTail(log)).toBe(
      `(00.001) Warn (criu/kerndat.c:1799): Hardware breakpoints do not seem to work\n(00.002) restoring task 42\nCRIU's stdout/stderr (${log}.out):\nsomething on stderr`,
    );
  });
});

/** The pids still running (not zombies) after up to 2 s. */
async function survivors(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const alive = (await Promise.all(pids.map(async (pid) => ((await isAlive(pid)) ? pid : undefined)))).filter(
      (pid) => pid !== undefined,
    );
    if (alive.length === 0) return [];
    if (i === 99) return alive;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pids;
}
