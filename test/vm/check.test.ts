import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { requireVm } from '../helpers/vm.js';

requireVm();

describe('remusd check in the soft-dirty VM', () => {
  it('--json reports dirty tracking available, modes pre-dump and dump available, and the plug qdisc', async () => {
    const result = await runCli(['check', '--json'], { timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    console.log(`kernel ${report.kernel}; CRIU ${report.criu.version}; dirty tracking: ${report.dirtyTracking.detail}`);
    expect(report.criu.checkOk).toBe(true);
    expect(report.dirtyTracking.available).toBe(true);
    expect(report.modes['pre-dump'].available).toBe(true);
    expect(report.modes.dump.available).toBe(true);
    expect(report.modes.full.available).toBe(true);
    // Debian's 6.1 kernel builds sch_plug as a module; the VM has its modules but no /boot/config-*.
    expect(report.plugQdisc, JSON.stringify(report.plugQdisc)).toMatchObject({ available: true });
    expect(report.outputCommit.mechanism).toBe('plug');
  });
});
