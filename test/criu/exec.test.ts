import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCriu } from '../../src/criu/exec.js';
import { imagesDir } from '../helpers/criu.js';

// runCriu's own mechanics, with stand-in programs (real CRIU runs are everywhere else in test/).
describe('runCriu', () => {
  it('sends the program\'s stdout and stderr to LOG.out and passes -o LOG', async () => {
    const dir = await imagesDir('remusd-exec-');
    const program = join(dir, 'fake-criu');
    await writeFile(program, '#!/bin/sh\necho "args: $*"\necho oops >&2\nexit 3\n');
    await chmod(program, 0o755);
    const log = join(dir, 'criu.log');
    const run = await runCriu({ command: program, source: 'flag' }, ['dump', '-t', '1'], { logFile: log });
    expect(run).toMatchObject({ exitCode: 3, timedOut: false, logFile: log });
    expect(await readFile(`${log}.out`, 'utf8')).toBe(`args: dump -t 1 -o ${log}\noops\n`);
  });

  it('stops a CRIU that hangs past its time limit and says so', async () => {
    const dir = await imagesDir('remusd-exec-');
    const program = join(dir, 'hung-criu');
    await writeFile(program, '#!/bin/sh\nexec sleep 30\n');
    await chmod(program, 0o755);
    const started = Date.now();
    const run = await runCriu({ command: program, source: 'flag' }, [], { logFile: join(dir, 'criu.log'), timeoutMs: 300 });
    expect(run.timedOut).toBe(true);
    expect(run.signal).toBe('SIGTERM');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('a CRIU that cannot be started is a failed run with the reason, not an exception', async () => {
    const dir = await imagesDir('remusd-exec-');
    const run = await runCriu({ command: join(dir, 'missing-criu'), source: 'flag' }, [], { logFile: join(dir, 'criu.log') });
    expect(run.exitCode).toBeUndefined();
    expect(run.startError).toMatch(/ENOENT/);
  });
});
