import { access, readdir, readFile } from 'node:fs/promises';
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
    expect(report.criu.check_ok).toBe(true);
    expect(report.page_size).toBe(4096);
    const softDirty = await kernelHasSoftDirty();
    expect(report.dirty_tracking.available).toBe(softDirty);
    expect(report.modes['pre-dump'].available).toBe(softDirty);
    expect(report.modes.dump.available).toBe(softDirty);
    expect(report.modes.full.available).toBe(true);
    expect(report.modes.delta.available).toBe(true); // software deltas need only full dumps
    expect(typeof report.plug_qdisc.available).toBe('boolean');
    // Which output-commit mechanism auto picks: the plug qdisc where it exists, remusd's TUN gate otherwise.
    expect(report.output_commit.mechanism).toBe(report.plug_qdisc.available ? 'plug' : 'tun');
    // The network lock during dumps follows: remusd's lossless hold needs the TUN gate.
    expect(report.network_lock.method).toBe(report.plug_qdisc.available ? 'nftables' : 'hold');
    const text = await runCli(['check']);
    expect(text.stdout).toMatch(
      report.plug_qdisc.available ? /network lock +CRIU's nftables lock/ : /network lock +remusd's lossless hold/,
    );
  });

  it('proves network workloads with a real dump of TCP sockets in a throwaway namespace, and cleans up', async () => {
    const result = await runCli(['check', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const { network } = JSON.parse(result.stdout);
    expect(network.available, JSON.stringify(network)).toBe(true);
    expect(network.detail).toContain('a listening and an established TCP socket in its own network namespace: ok');
    expect(network.dump_ms).toBeGreaterThan(0);
    expect((await readdir('/run/netns')).filter((name) => name.startsWith('remusd-check-'))).toEqual([]);
  });

  it("with CRIU 4.1.1 says network workloads cannot be checkpointed, why (CRIU's own line) and the fix", async () => {
    const legacy = '/opt/remusd/criu-4.1/bin/criu';
    await access(legacy).catch(() => {
      throw new Error(
        `${legacy} is missing: run scripts/setup.sh (it installs CRIU 4.1.1 with scripts/install-criu.sh --legacy)`,
      );
    });
    const json = await runCli(['check', '--json', '--criu', legacy]);
    expect(json.exitCode, json.stderr).toBe(0); // process workloads still work with 4.1.1
    const report = JSON.parse(json.stdout);
    expect(report.criu.version).toMatch(/^4\.1\./);
    expect(report.network.available).toBe(false);
    expect(report.network.criu_error).toContain("Can't get 1:16 opt: Operation not supported");
    expect(report.network.detail).toContain('Linux >= 6.16');
    expect(report.network.fix).toContain('scripts/install-criu.sh');

    const text = await runCli(['check', '--criu', legacy]);
    expect(text.stdout).toMatch(/network workloads +NO +CRIU 4\.1\.1 cannot dump INET sockets/);
    expect(text.stdout).toContain("CRIU: Error (criu/sockets.c:628): sockets: Can't get 1:16 opt");
    expect(text.stdout).toContain('fix: run scripts/install-criu.sh');
    expect((await readdir('/run/netns')).filter((name) => name.startsWith('remusd-check-'))).toEqual([]);
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
