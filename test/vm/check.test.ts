import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { requireVm } from '../helpers/vm.js';

requireVm();

describe('remusd check in the soft-dirty VM', () => {
  it('--json reports dirty tracking available, modes pre-dump and dump available, and the plug qdisc', async () => {
    const result = await runCli(['check', '--json'], { timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    console.log(
      `kernel ${report.kernel}; CRIU ${report.criu.version}; dirty tracking: ${report.dirty_tracking.detail}`,
    );
    expect(report.criu.check_ok).toBe(true);
    expect(report.dirty_tracking.available).toBe(true);
    expect(report.modes['pre-dump'].available).toBe(true);
    expect(report.modes.dump.available).toBe(true);
    expect(report.modes.full.available).toBe(true);
    // Debian's 6.1 kernel builds sch_plug as a module; the VM has its modules but no /boot/config-*.
    expect(report.plug_qdisc, JSON.stringify(report.plug_qdisc)).toMatchObject({ available: true });
    expect(report.output_commit.mechanism).toBe('plug');
    expect(report.network_lock.method).toBe('nftables'); // the plug gate cannot hold inbound packets
  });
});
