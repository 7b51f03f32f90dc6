import { describe, expect, it } from 'vitest';
import { isParasiteMapping, judgeLeftovers, type ThreadSnapshot } from '../../src/process/criu-leftovers.js';
import { unsafeToKillCriu } from '../../src/process/criu-safe-point.js';
import { freezeCgroupOf } from '../../src/process/freezer.js';

const SPOT = 0x5555_0000_0000;
const PARASITE: [number, number] = [0x7f00_0000_0000, 0x7f00_0000_5000];
const thread = (fields: Partial<ThreadSnapshot> = {}): ThreadSnapshot => ({
  tid: 100,
  state: 'S',
  tracerPid: 0,
  wchan: 'hrtimer_nanosleep',
  syscall: 230,
  pc: SPOT + 0x1234,
  ...fields,
});
const snapshot = (threads: ThreadSnapshot[], extra: { parasiteMappings?: string[]; pokedText?: string } = {}) => ({
  gone: false as const,
  pid: 100,
  threads,
  parasiteMappings: extra.parasiteMappings ?? [],
  pokedText: extra.pokedText,
  injectionSpot: SPOT,
  parasiteRanges: [PARASITE],
});

describe('judgeLeftovers', () => {
  it('a gone process and one with only zombie threads are dead', () => {
    expect(judgeLeftovers({ gone: true, pid: 7 }).condition).toBe('dead');
    expect(judgeLeftovers(snapshot([thread({ state: 'Z' })])).condition).toBe('dead');
  });

  it('a group stop is CRIU’s to undo unless the process was stopped before', () => {
    const stopped = snapshot([thread(), thread({ tid: 101, state: 'T' })]);
    expect(judgeLeftovers(stopped)).toMatchObject({ condition: 'stopped', stoppedThreads: [101] });
    expect(judgeLeftovers(stopped, true)).toMatchObject({ condition: 'running', stoppedThreads: [] });
  });

  it('a traced thread outranks a stop, and remnants are named in the summary', () => {
    const verdict = judgeLeftovers(
      snapshot([thread({ state: 't', tracerPid: 9 }), thread({ tid: 101, state: 'T' })], {
        parasiteMappings: ['7f0000-7f5000 r-xs 0 00:01 1 /memfd:CRIUMFD (deleted)'],
        pokedText: '16 bytes at 0x5555',
      }),
    );
    expect(verdict.condition).toBe('traced');
    expect(verdict.tracedThreads).toEqual([{ tid: 100, tracerPid: 9 }]);
    expect(verdict.remnants).toHaveLength(2);
    expect(verdict.summary).toMatch(
      /traced threads 100 by 9.*parasite is still mapped: 1 mapping, 20 KiB, from 7f0000-7f5000.*injected code/,
    );
  });

  it('recognises the parasite mapping by its memfd name or as a shared rwx /dev/zero', () => {
    expect(isParasiteMapping('7f0d2756e000-7f0d27573000 r-xs 00000000 00:01 110173  /memfd:CRIUMFD (deleted)')).toBe(
      true,
    );
    expect(isParasiteMapping('7f0d2756e000-7f0d27573000 rwxs 00000000 00:01 1  /dev/zero (deleted)')).toBe(true);
    expect(isParasiteMapping('7f0d2756e000-7f0d27573000 rw-s 00000000 00:01 1  /dev/zero (deleted)')).toBe(false);
    expect(isParasiteMapping('55d0-55d1 r-xp 00001000 08:01 2  /usr/bin/remusd-dirtier')).toBe(false);
  });
});

describe('unsafeToKillCriu', () => {
  it('untraced threads, and traced ones in their own code, are safe', () => {
    expect(unsafeToKillCriu(snapshot([thread()]))).toEqual([]);
    expect(unsafeToKillCriu(snapshot([thread({ state: 't', tracerPid: 9, syscall: -1 })]))).toEqual([]);
    expect(unsafeToKillCriu({ gone: true, pid: 100 })).toEqual([]);
  });

  it('a traced thread at the injection spot (before the syscall, in it, at the int3) is unsafe', () => {
    for (const pc of [SPOT, SPOT + 2, SPOT + 3, SPOT + 15])
      expect(unsafeToKillCriu(snapshot([thread({ state: 't', tracerPid: 9, pc })]))[0]).toMatch(/injected/);
    expect(unsafeToKillCriu(snapshot([thread({ state: 't', tracerPid: 9, pc: SPOT + 16 })]))).toEqual([]);
  });

  it('the parasite is safe only as the leader waiting for a command; a running traced thread is unknown', () => {
    const inParasite = PARASITE[0] + 0x100;
    expect(unsafeToKillCriu(snapshot([thread({ tracerPid: 9, pc: inParasite, syscall: 45 })]))).toEqual([]);
    expect(unsafeToKillCriu(snapshot([thread({ tracerPid: 9, pc: inParasite, syscall: 278 })]))[0]).toMatch(/parasite/);
    expect(unsafeToKillCriu(snapshot([thread({ tid: 101, tracerPid: 9, pc: inParasite, syscall: 45 })]))[0]).toMatch(
      /parasite/,
    );
    expect(
      unsafeToKillCriu(snapshot([thread({ state: 'R', tracerPid: 9, pc: undefined, syscall: undefined })]))[0],
    ).toMatch(/running/);
  });
});

describe('freezeCgroupOf', () => {
  it('reads --freeze-cgroup in both spellings from CRIU arguments', () => {
    expect(freezeCgroupOf(['--freeze-cgroup', '/sys/fs/cgroup/freezer/app'])).toBe('/sys/fs/cgroup/freezer/app');
    expect(freezeCgroupOf(['-v2', '--freeze-cgroup=/sys/fs/cgroup/app'])).toBe('/sys/fs/cgroup/app');
    expect(freezeCgroupOf(['--tcp-established'])).toBeUndefined();
  });
});
