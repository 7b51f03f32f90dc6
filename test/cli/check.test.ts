import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

// What the kernel says about soft-dirty, read independently of remusd and CRIU.
async function kernelHasSoftDirty(): Promise<boolean> {
  const config = gunzipSync(await readFile('/proc/config.gz')).toString('utf8');
  return /^CONFIG_MEM_SOFT_DIRTY=y/m.test(config);
}

describe('remusd check', () => {
  it('--json reports CRIU, the page size, dirty tracking as the kernel config says, and full dumps available', async () => {
    const result = await runCli(['check', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.criu.version).toMatch(/^4\.\d+/);
    expect(report.criu.checkOk).toBe(true);
    expect(report.pageSize).toBe(4096);
    const softDirty = await kernelHasSoftDirty();
    expect(report.dirtyTracking.available).toBe(softDirty);
    expect(report.modes['pre-dump'].available).toBe(softDirty);
    expect(report.modes.dump.available).toBe(softDirty);
    expect(report.modes.full.available).toBe(true);
    expect(report.modes.delta.available).toBe(true); // software deltas need only full dumps
    expect(typeof report.plugQdisc.available).toBe('boolean');
  });

  it('exits 3 with the reason and the fix when CRIU cannot checkpoint', async () => {
    // /bin/false "is" a CRIU that fails every command.
    const result = await runCli(['check', '--criu', '/bin/false']);
    expect(result.exitCode).toBe(3);
    expect(result.stderr).toContain('CRIU cannot checkpoint here');
    expect(result.stderr).toContain('scripts/install-criu.sh');
  });

  it('names the source of an explicitly given CRIU that does not exist', async () => {
    const result = await runCli(['check', '--criu', '/nonexistent/criu']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('--criu names /nonexistent/criu, which is not an executable file');
  });
});
