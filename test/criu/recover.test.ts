import { afterEach, describe, expect, it } from 'vitest';
import { recoverAfterCriu } from '../../src/criu/recover.js';
import { processState } from '../../src/process/proc.js';
import { expectRunningOn } from '../helpers/running-on.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

// No CRIU kill in 300+ here left the dirtier in a group stop (README, "When CRIU fails"), so the stop is made
// with SIGSTOP: what a CRIU that died after re-stopping a task (compel_resume_task) would leave.
describe('recoverAfterCriu on a real process', () => {
  async function stoppedDirtier(): Promise<TestWorkload> {
    const started = await startWorkload(['--mib', '8', '--phases', '2000:1000000', '--report-ms', '20']);
    process.kill(started.pid, 'SIGSTOP');
    await waitFor('the stop', async () => ((await processState(started.pid)) === 'T' ? true : undefined), 5000);
    return started;
  }

  it('continues a workload left in a group stop, and it runs on intact', async () => {
    workload = await stoppedDirtier();
    const recovery = await recoverAfterCriu(workload.pid, { stoppedBefore: false });
    expect(recovery.found.condition).toBe('stopped');
    expect(recovery.actions.join(' ')).toMatch(/sent SIGCONT/);
    expect(recovery.now.condition).toBe('running');
    await expectRunningOn(workload);
  });

  it('leaves a stop alone when it was there before CRIU, or made on purpose (the fence)', async () => {
    workload = await stoppedDirtier();
    const before = await recoverAfterCriu(workload.pid, { stoppedBefore: true });
    expect(before.actions).toEqual([]);
    const fenced = await recoverAfterCriu(workload.pid, { stoppedBefore: false, stoppedOnPurpose: 'fenced' });
    expect(fenced.actions).toEqual(['left it stopped: fenced']);
    expect(fenced.now.condition).toBe('stopped');
    expect(await processState(workload.pid)).toBe('T');
  });
});
