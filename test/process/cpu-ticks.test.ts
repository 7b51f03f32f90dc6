// cpuTicks: the gate bench divides a helper's CPU time by the packets it moved, so the reading must follow
// real CPU use: a busy process's ticks grow, a sleeping one's do not, a gone one has none.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuTicks } from '../../src/process/proc.js';
import { waitFor } from '../helpers/wait.js';

describe('cpuTicks', () => {
  it('grows for a busy process, stays put for a sleeping one, and is undefined once a process is gone', async () => {
    const busy = spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' });
    const idle = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const busyStart = (await cpuTicks(busy.pid!))!;
      const idleStart = (await cpuTicks(idle.pid!))!;
      // 20 ticks = 0.2 s of CPU: seconds of wall time on a loaded machine, hence the generous wait.
      await waitFor(
        '20 ticks of CPU',
        async () => (((await cpuTicks(busy.pid!)) ?? 0) >= busyStart + 20 ? true : undefined),
        20_000,
        50,
      );
      expect(await cpuTicks(idle.pid!)).toBeLessThanOrEqual(idleStart + 1);
    } finally {
      busy.kill('SIGKILL');
      idle.kill('SIGKILL');
    }
    await waitFor(
      'the busy shell to be reaped',
      async () => ((await cpuTicks(busy.pid!)) === undefined ? true : undefined),
      10_000,
      20,
    );
  });
});
