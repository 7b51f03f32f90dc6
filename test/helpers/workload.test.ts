import { existsSync } from 'node:fs';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { killAndWait } from './workload.js';

// killAndWait is what makes a pid free for a restore in the tests: when it cannot, the test must fail there,
// with the cause, and not later with CRIU's "Can't fork for PID: File exists".

describe('killAndWait', () => {
  it('returns once the pid is gone from /proc', async () => {
    const child = execa('sleep', ['600'], { reject: false });
    await killAndWait(child.pid!);
    expect(existsSync(`/proc/${child.pid}`)).toBe(false);
    expect((await child).signal).toBe('SIGKILL');
  });

  it('a zombie its parent never reaps: throws naming the pid, its state and the parent', async () => {
    // The shell starts `sleep` in the background, then becomes a `sleep` itself, which never waits for it.
    const parent = execa('sh', ['-c', 'sleep 600 & echo $!; exec sleep 600'], { reject: false });
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (b: Buffer) => resolve(Number(b))));
    try {
      await expect(killAndWait(pid, 1_000)).rejects.toThrow(
        new RegExp(
          `^pid ${pid} is still taken 1000 ms after SIGKILL: sleep is a zombie \\(State Z \\(zombie\\)\\) that its parent pid ${parent.pid} \\(sleep, State S \\(sleeping\\)\\) has not reaped$`,
        ),
      );
    } finally {
      await killAndWait(parent.pid!);
    }
    // With its parent gone, PID 1 reaps the orphan (1-4 s here) and the pid is free.
    await killAndWait(pid);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
