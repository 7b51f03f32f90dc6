// The systemd unit and `run --pid-file` (real CRIU): an instance per workload, attached through its pidfile,
// never to a process that took over a stale pidfile's pid.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { isAlive, startTime } from '../../src/process/proc.js';
import { ensureDirtierBinary } from '../../src/workload/build.js';
import { killAndWait, startWorkload } from '../helpers/workload.js';

describe('config/remusd@.service', () => {
  it('needs systemd-analyze to verify the unit', async () => {
    const found = await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false });
    expect(
      found.exitCode,
      'systemd-analyze is missing: apt-get install systemd (it verifies config/remusd@.service)',
    ).toBe(0);
  });

  it('passes systemd-analyze verify and installs through scripts/install-unit.sh', async () => {
    const unitDir = await imagesDir('remusd-unit-');
    const install = await execa('bash', ['scripts/install-unit.sh'], {
      cwd: packageRoot(),
      env: { UNIT_DIR: unitDir },
      reject: false,
    });
    expect(install.exitCode, install.stderr).toBe(0);
    expect(install.stdout).toBe('');
    const unit = await readFile(join(unitDir, 'remusd@.service'), 'utf8');
    // The config names the workload (workload.command or workload.pid_file): nothing else does.
    expect(unit).toMatch(/^ExecStart=\/usr\/local\/bin\/remusd run --config \/etc\/remusd\/%i\.yaml$/m);
    expect(unit).toMatch(/^StateDirectory=remusd\/%i$/m);
    expect(unit).toMatch(/^KillMode=process$/m);
    // Readiness, reload and stop over NOTIFY_SOCKET, and the watchdog (test/cli/service-notify.test.ts).
    expect(unit).toMatch(/^Type=notify$/m);
    expect(unit).toMatch(/^NotifyAccess=main$/m);
    expect(Number(/^WatchdogSec=(\d+)$/m.exec(unit)?.[1])).toBeGreaterThan(120); // above criu.timeout's default
  });

  // The script ran with UNIT_DIR by every test run and still made /etc/remusd on the host. Both runs below see
  // a copy of /etc (bound over /etc in a mount namespace of their own), so the host's /etc is never touched.
  it('with UNIT_DIR it leaves /etc alone; without, it installs the unit and makes /etc/remusd', async () => {
    const root = await imagesDir('remusd-unit-etc-');
    const install = async (env: Record<string, string>) => {
      const etc = join(root, `etc-${Object.keys(env).length}`);
      await execa('cp', ['-a', '/etc', etc]);
      await execa('rm', ['-rf', join(etc, 'remusd'), join(etc, 'systemd', 'system', 'remusd@.service')]);
      const run = await execa(
        'unshare',
        ['--mount', '--propagation', 'private', 'sh', '-c', 'mount --bind "$1" /etc && exec bash scripts/install-unit.sh', 'sh', etc],
        { cwd: packageRoot(), env, extendEnv: false, reject: false },
      ); // prettier-ignore
      expect(run.exitCode, run.stderr).toBe(0);
      return {
        made: existsSync(join(etc, 'remusd')),
        unit: existsSync(join(etc, 'systemd', 'system', 'remusd@.service')),
      };
    };
    const path = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    expect(await install({ ...path, UNIT_DIR: join(root, 'units') })).toEqual({ made: false, unit: false });
    expect(await install(path)).toEqual({ made: true, unit: true }); // the control: the real install makes both
  });

  it('systemd-analyze verify catches a broken unit (the check above can fail)', async () => {
    const dir = await imagesDir('remusd-unit-bad-');
    const bad = join(dir, 'remusd@x.service');
    await writeFile(
      bad,
      (await readFile(join(packageRoot(), 'config', 'remusd@.service'), 'utf8')).replace(
        '/usr/local/bin/remusd',
        'remusd-relative',
      ),
    );
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

describe("the workload named by the config (remusd@NAME runs NAME.yaml's workload)", () => {
  it('workload.command: started and recorded with its start time; a restarted remusd supervises it again, never a recycled pid', async () => {
    const dir = await imagesDir('remusd-config-workload-');
    const config = join(dir, 'remusd.yaml');
    const dirtier = await ensureDirtierBinary();
    await writeFile(
      config,
      `checkpoint: { mode: full, dir: ./images }\nworkload:\n  command: [${dirtier}, --mib, "4"]\n  log: workload.out\n`,
    );
    const first = await runCli(['run', '--config', config, '--max-checkpoints', '1']);
    expect(first.exitCode, first.stderr).toBe(0);
    const pid = Number(/started \S+ as pid (\d+)/.exec(first.stderr)?.[1]);
    try {
      expect(await isAlive(pid)).toBe(true); // not stopped: the unit's KillMode=process keeps it too
      const recorded = (await readFile(join(dir, 'images', 'workload.pid'), 'utf8')).trim();
      expect(recorded).toBe(`${pid} ${await startTime(pid)}`);
      expect((await readFile(join(dir, 'workload.out'), 'utf8')).length).toBeGreaterThan(0); // workload.log, from the file's dir

      // remusd restarted (Restart=on-failure): the same process, not a second copy.
      const again = await runCli(['run', '--config', config, '--max-checkpoints', '1']);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.stderr).toContain(
        `pid ${pid}, started by an earlier remusd on ${join(dir, 'images')}, still runs: supervising it instead of starting another`,
      );
      expect(again.stderr).not.toMatch(/started \S+ as pid/);

      // The recorded pid with another start time: a recycled pid is not attached to; a new copy starts.
      await writeFile(join(dir, 'images', 'workload.pid'), `${pid} 1\n`);
      const recycled = await runCli(['run', '--config', config, '--max-checkpoints', '1', '--stop-workload']);
      expect(recycled.exitCode, recycled.stderr).toBe(0);
      const fresh = Number(/started \S+ as pid (\d+)/.exec(recycled.stderr)?.[1]);
      expect(fresh).not.toBe(pid);
      expect(fresh).toBeGreaterThan(0);
    } finally {
      await killAndWait(pid);
    }
  });

  it('workload.pid_file attaches like --pid-file; naming the workload twice is refused with the file named', async () => {
    const workload = await startWorkload(['--mib', '4']);
    try {
      const dir = await imagesDir('remusd-config-pidfile-');
      const config = join(dir, 'remusd.yaml');
      await writeFile(join(dir, 'w.pid'), `${workload.pid}\n`);
      await writeFile(config, 'checkpoint: { mode: full, dir: ./images }\nworkload: { pid_file: w.pid }\n');
      const ok = await runCli(['run', '--config', config, '--max-checkpoints', '1']);
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(ok.stderr).toContain(`supervising pid ${workload.pid}`);

      const twice = await runCli(['run', '--config', config, '--pid', String(workload.pid)]);
      expect(twice.exitCode).toBe(2);
      expect(twice.stderr).toContain(`${config}: workload names the workload already`);

      await writeFile(join(dir, 'w.pid'), '99999999\n');
      const stale = await runCli(['run', '--config', config]);
      expect(stale.exitCode).toBe(2);
      expect(stale.stderr).toContain(
        `${config}: workload.pid_file ${join(dir, 'w.pid')} names pid 99999999, which does not exist`,
      );

      const bare = join(dir, 'bare.yaml');
      await writeFile(bare, 'checkpoint: { mode: full, dir: ./images }\n');
      const unnamed = await runCli(['run', '--config', bare]);
      expect(unnamed.exitCode).toBe(2);
      expect(unnamed.stderr).toContain('or workload.command / workload.pid_file in --config');
    } finally {
      await workload.stop();
    }
  });
});
