// Files remusd reads are hostile: a FIFO, a device, a huge or binary file must give a clear error at once,
// without blocking or reading without bound. Each case here hung or crashed before the inputs were hardened.
import { execFileSync } from 'node:child_process';
import { symlink, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';

// A FIFO opened the old way waits forever for a writer; these bounds only stop such a test from hanging
// the suite (a refusal takes one CLI start, ~1 s on a busy machine).
const HANG = { timeoutMs: 20_000 };

async function fifo(dir: string, name: string): Promise<string> {
  const path = join(dir, name);
  execFileSync('mkfifo', [path]);
  return path;
}

describe('hostile config files', () => {
  it('a FIFO as config is refused without blocking, by config check and by run', async () => {
    const path = await fifo(await imagesDir('remusd-fifo-'), 'remusd.yaml');
    const check = await runCli(['config', 'check', path], HANG);
    expect(check.timedOut).toBe(false);
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toContain(`${path}: cannot read the file: is a FIFO, not a regular file`);
    const run = await runCli(['run', '--config', path, '--', 'true'], HANG);
    expect(run.timedOut).toBe(false);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('is a FIFO, not a regular file');
  });

  it('/dev/zero as config is refused before anything is read (it grew remusd to 630 MB)', async () => {
    const check = await runCli(['config', 'check', '/dev/zero'], HANG);
    expect(check.timedOut).toBe(false);
    expect(check.exitCode).toBe(2);
    expect(check.stderr).toContain('/dev/zero: cannot read the file: is a character device, not a regular file');
  });

  it('a config over 1 MiB is refused by its size; a binary one is not echoed back', async () => {
    const dir = await imagesDir('remusd-bigconfig-');
    const big = join(dir, 'big.yaml');
    await writeFile(big, `# ${'x'.repeat(2 * 2 ** 20)}\n`);
    const tooBig = await runCli(['config', 'check', big]);
    expect(tooBig.exitCode).toBe(2);
    expect(tooBig.stderr).toContain('is larger than the 1048576 byte limit');

    const binary = join(dir, 'binary.yaml');
    await writeFile(binary, Buffer.concat([Buffer.from('abc'), Buffer.alloc(1), Buffer.alloc(50_000, 0x41)]));
    const nul = await runCli(['config', 'check', binary]);
    expect(nul.exitCode).toBe(2);
    expect(nul.stderr).toContain('is not a text file (a NUL byte at byte 3)');
    expect(nul.stderr.length).toBeLessThan(500);

    // Garbage without NUL bytes parses as one long YAML scalar: the message shows its start and length only.
    const scalar = join(dir, 'scalar.yaml');
    await writeFile(scalar, 'Z'.repeat(100_000));
    const long = await runCli(['config', 'check', scalar]);
    expect(long.exitCode).toBe(2);
    expect(long.stderr).toContain('(100000 characters)');
    expect(long.stderr.length).toBeLessThan(1000);
    const json = await runCli(['config', 'check', scalar, '--json']);
    expect(json.exitCode).toBe(2);
    expect(json.stdout.length).toBeLessThan(1000);
  });
});

describe('hostile CRIU images', () => {
  it('a FIFO as stats-dump is refused without blocking', async () => {
    const dir = await imagesDir('remusd-fifo-stats-');
    await fifo(dir, 'stats-dump');
    const result = await runCli(['stats', dir], HANG);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('stats-dump: at byte 0: expected a readable regular file, found a FIFO');
  });

  it('/dev/zero as stats-dump is refused (it grew remusd to 6.1 GB in 20 s)', async () => {
    const dir = await imagesDir('remusd-zero-stats-');
    await symlink('/dev/zero', join(dir, 'stats-dump'));
    const result = await runCli(['stats', dir], HANG);
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('found a character device');
  });

  it('a stats-dump larger than any CRIU writes is refused by its size', async () => {
    const dir = await imagesDir('remusd-big-stats-');
    await writeFile(join(dir, 'stats-dump'), Buffer.alloc(1 << 20));
    const result = await runCli(['stats', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('larger than the 65536 byte limit');
  });

  it('stats on a missing directory says so; on a file, that it is not a directory', async () => {
    const missing = await runCli(['stats', '/nonexistent-remusd-dir']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('/nonexistent-remusd-dir: no such directory');
    const dir = await imagesDir('remusd-notdir-');
    await mkdir(join(dir, 'sub'));
    await writeFile(join(dir, 'file'), 'x');
    const file = await runCli(['stats', join(dir, 'file')]);
    expect(file.stderr).toContain('is a regular file, not a directory');
  });
});

describe('command-line values', () => {
  it('--pid abc names the option and what a pid is (it said "--pid NaN", exit 1)', async () => {
    const result = await runCli(['run', '--pid', 'abc']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--pid "abc" is not a process id');
    expect(result.stderr).not.toContain('NaN');
  });

  it('a bare number for a duration is refused (--duration 10 meant 10 ms)', async () => {
    const result = await runCli(['run', '--duration', '10', '--', 'true']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--duration "10" has no unit; write e.g. 10s or 10ms');
  });

  it('demo --seconds takes seconds or a duration, and refuses anything else before starting', async () => {
    const result = await runCli(['demo', '--seconds', 'soon']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('--seconds "soon" is not a duration');
  });

  it('an unknown command gets a did-you-mean and exit 2', async () => {
    const result = await runCli(['rnu']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('unknown command "rnu"; did you mean run?');
  });
});
