import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FENCED_FILE, readFenceReport } from '../../src/fence/marker.js';

// fenced.json has two writers (guard.ts, and the watchdog in C) and is read back by `remusd status`: what the
// reader accepts is checked, and a file that is not a fence report is none, never a report with holes.

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'remusd-marker-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const write = (text: string) => writeFile(join(dir, FENCED_FILE), text);

describe('readFenceReport', () => {
  it("reads the watchdog's report as its C code prints it", async () => {
    await write(
      '{"key":"/remusd/web/leader","holder":"host-a","lease":"7587","action":"freeze","pid":4242,' +
        '"by":"watchdog","reason":"remusd is gone","at":"2026-12-01T23:00:00.123Z","pids":[4242,4243],"stop_ms":1.250}\n',
    );
    expect(await readFenceReport(dir)).toEqual({
      key: '/remusd/web/leader',
      holder: 'host-a',
      lease: '7587',
      action: 'freeze',
      pid: 4242,
      by: 'watchdog',
      reason: 'remusd is gone',
      at: '2026-12-01T23:00:00.123Z',
      pids: [4242, 4243],
      stop_ms: 1.25,
    });
  });

  it('a report fenced before there was a workload has no pid', async () => {
    const report = {
      reason: 'lost',
      at: 'now',
      key: 'k',
      holder: 'h',
      lease: '',
      action: 'kill',
      pids: [],
      stop_ms: 0,
    };
    await write(JSON.stringify(report));
    expect(await readFenceReport(dir)).toEqual(report);
  });

  it('no file, a torn file, or JSON that is not a fence report: none', async () => {
    expect(await readFenceReport(dir)).toBeUndefined();
    await write('{"reason":"lost","at":');
    expect(await readFenceReport(dir)).toBeUndefined();
    for (const text of [
      'null',
      '[]',
      '{"reason":"lost"}',
      '{"reason":"lost","at":"now","key":"k","holder":"h","lease":"","action":"pause","pids":[],"stop_ms":0}',
    ]) {
      await write(text);
      expect(await readFenceReport(dir), text).toBeUndefined();
    }
  });
});
