// waitWhileZombies: a restore on this machine must wait for a killed primary's zombie to release its pid.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processState, waitWhileZombies } from '../../src/process/proc.js';
import { waitFor } from '../helpers/wait.js';

describe('waitWhileZombies', () => {
  it('reports a zombie as held until its pid is released, and returns at once for live or gone pids', async () => {
    // `sleep 30` never reaps: its child `sleep 0` stays a zombie until the parent dies and PID 1 reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = Number(
      await new Promise<string>((resolve) => parent.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()))),
    );
    await waitFor(
      'the child to become a zombie',
      async () => ((await processState(zombie)) === 'Z' ? true : undefined),
      5_000,
      10,
    );
    expect(await waitWhileZombies([zombie, parent.pid!], 100)).toEqual([zombie]);
    parent.kill('SIGKILL');
    expect(await waitWhileZombies([zombie, parent.pid!], 15_000)).toEqual([]);
    expect(await processState(zombie)).toBeUndefined();
  });
});
