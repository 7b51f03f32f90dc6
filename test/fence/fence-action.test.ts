import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { stopWorkload, treeOf } from '../../src/fence/fence-action.js';
import { isAlive, processState } from '../../src/process/proc.js';

describe('treeOf', () => {
  it('takes descendants and the session, nothing else', () => {
    const procs = [
      { pid: 10, ppid: 1, sid: 10 },
      { pid: 11, ppid: 10, sid: 10 },
      { pid: 12, ppid: 11, sid: 12 }, // a grandchild that called setsid: still a descendant
      { pid: 13, ppid: 1, sid: 10 }, // reparented to init, still in the session
      { pid: 14, ppid: 1, sid: 14 },
      { pid: 15, ppid: 14, sid: 14 },
    ];
    expect(treeOf(procs, 10).sort()).toEqual([10, 11, 12, 13]);
    expect(treeOf(procs, 99)).toEqual([]);
  });
});

describe('stopWorkload on real processes', () => {
  // A session leader shell with two children, one of them in a new session of its own.
  async function tree(): Promise<number[]> {
    const child = spawn('setsid', ['sh', '-c', 'sleep 60 & setsid sleep 61 & echo $$ $!; wait'], {
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    const line = await new Promise<string>((resolve) =>
      child.stdout!.once('data', (d: Buffer) => resolve(d.toString())),
    );
    const [leader] = line.trim().split(' ').map(Number);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const { readFile } = await import('node:fs/promises');
    const children = (await readFile(`/proc/${leader}/task/${leader}/children`, 'utf8'))
      .trim()
      .split(/\s+/)
      .map(Number);
    return [leader!, ...children];
  }

  it('freeze stops every process of the tree (state T), kill ends them all', async () => {
    const pids = await tree();
    expect(pids.length).toBe(3);
    const frozen = stopWorkload(pids[0]!, 'freeze');
    expect(frozen.pids.sort()).toEqual([...pids].sort());
    for (const pid of pids) expect(await processState(pid)).toBe('T');
    const killed = stopWorkload(pids[0]!, 'kill');
    expect(killed.pids.sort()).toEqual([...pids].sort());
    // SIGKILL is delivered at once, but reaping (by init or by us) takes a moment on a busy machine.
    const deadline = performance.now() + 5000;
    const alive = async () => (await Promise.all(pids.map((pid) => isAlive(pid)))).some(Boolean);
    while ((await alive()) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await alive()).toBe(false);
  });
});
