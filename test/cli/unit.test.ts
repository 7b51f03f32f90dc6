// The systemd unit and `run --pid-file` (real CRIU): an instance per workload, attached through its pidfile,
// never to a process that took over a stale pidfile's pid.
import { execFileSync } from 'node:child_process';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { startWorkload } from '../helpers/workload.js';

describe('config/remusd@.service', () => {
  it('needs systemd-analyze to verify the unit', async () => {
    const found = await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false });
    expect(found.exitCode, 'systemd-analyze is missing: apt-get install systemd (it verifies config/remusd@.service)').toBe(0);
  });

  it('passes systemd-analyze verify and installs through scripts/install-unit.sh', async () => {
    const unitDir = await imagesDir('remusd-unit-');
    const install = await execa('bash', ['scripts/install-unit.sh'], { cwd: packageRoot(), env: { UNIT_DIR: unitDir }, reject: false });
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stdout).toBe('');
    const unit = await readFile(join(unitDir, 'remusd@.service'), 'utf8');
    expect(unit).toContain('--config /etc/remusd/%i.yaml --pid-file ${REMUSD_PIDFILE}');
    expect(unit).toMatch(/^StateDirectory=remusd\/%i$/m);
    expect(unit).toMatch(/^KillMode=process$/m);
    // Readiness, reload and stop over NOTIFY_SOCKET, and the watchdog (test/cli/service-notify.test.ts).
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=main$/m);
    expect(Number(/^WatchdogSec=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThan(120); // above criu.timeout's default
  });

  it('systemd-analyze verify catches a broken unit (the check above can fail)', async () => {
    const dir = await imagesDir('remusd-unit-bad-');
    const bad = join(dir, 'remusd@x.service');
    await writeFile(bad, (await readFile(join(packageRoot(), 'config', 'remusd@.service'), 'utf8')).replace('/usr/local/bin/remusd', 'remusd-relative'));
    const verify = await execa('systemd-analyze', ['verify', bad], { reject: false });
    expect(verify.exitCode).not.toBe(0);
  });
});

describe('remusd run --pid-file', () => {
  it('attaches to the process a fresh pidfile names; refuses a reused pid, garbage and a FIFO', async () => {
    const workload = await startWorkload(['--mib', '4']);
    try {
      const dir = await imagesDir('remusd-pidfile-');
      const config = join(dir, 'remusd.yaml');
      await writeFile(config, 'checkpoint: { mode: full, dir: ./images }\n');
      const pidFile = join(dir, 'workload.pid');
      await writeFile(pidFile, `${workload.pid}\n`);
      const ok = await runCli(['run', '--config', config, '--pid-file', pidFile, '--max-checkpoints', '1']);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(ok.stderr).toContain(`supervising pid ${workload.pid}`);

      // The same pid in a file written an hour before the process started: a pid reused after a reboot.
      const anHourAgo = new Date(Date.now() - 3_600_000);
      await utimes(pidFile, anHourAgo, anHourAgo);
      const reused = await runCli(['run', '--config', config, '--pid-file', pidFile]);
      expect(reused.exitCode).toBe(2);
      expect(reused.stderr).toContain(`names pid ${workload.pid}, but that process started`);
      expect(reused.stderr).toContain('the pid was reused');

      await writeFile(pidFile, 'four\n');
      const garbage = await runCli(['run', '--config', config, '--pid-file', pidFile]);
      expect(garbage.exitCode).toBe(2);
      expect(garbage.stderr).toContain('does not hold a pid ("four")');

      const fifo = join(dir, 'fifo.pid');
      execFileSync('mkfifo', [fifo]);
      const blocked = await runCli(['run', '--config', config, '--pid-file', fifo], { timeoutMs: 20_000 });
      expect(blocked.exitCode).toBe(2);
      expect(blocked.stderr).toContain('is a FIFO, not a regular file');
    } finally {
      await workload.stop();
    }
  });
});
