import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dump } from '../../src/criu/dump.js';
import { readStatsDir } from '../../src/criu/images/index.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload;
let dir: string;
beforeAll(async () => {
  workload = await startWorkload(['--mib', '8']);
  dir = await imagesDir();
  const run = await dump(await testCriu(), { kind: 'full', pid: workload.pid, imagesDir: dir });
  expect(run.exitCode).toBe(0);
});
afterAll(() => workload?.stop());

describe('remusd stats', () => {
  it('--json prints the podman --print-stats shape plus every field and the derived size', async () => {
    const result = await runCli(['stats', dir, '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    const { dump: stats } = await readStatsDir(dir);
    for (const key of [
      'freezing_time',
      'frozen_time',
      'memdump_time',
      'memwrite_time',
      'pages_scanned',
      'pages_written',
      'pages_skipped_parent',
      'shpages_written',
    ]) {
      expect(json.criu_statistics[key], key).toBe((stats as unknown as Record<string, number>)[key]);
    }
    expect(json.checkpoint_size_bytes).toBe((stats!.pages_written + (stats!.shpages_written ?? 0)) * 4096);
    expect(json.checkpoint_size_bytes).toBeGreaterThan(8 * 2 ** 20);
  });

  it('prints a readable table with units', async () => {
    const result = await runCli(['stats', dir]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/frozen_time\s+\d+\.\d{3} ms/);
    expect(result.stdout).toMatch(/pages_written\s+\d+ pages \(\d+\.\d\d MiB\)/);
  });

  it('a corrupt stats-dump gives an error naming the file, the offset and what was expected', async () => {
    const bad = await imagesDir();
    await writeFile(join(bad, 'stats-dump'), Buffer.from([0x40, 0x59, 0x10, 0x55, 0x06, 0x33, 0x09, 0x57, 0xff]));
    const result = await runCli(['stats', bad, '--json']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(join(bad, 'stats-dump'));
    expect(result.stderr).toMatch(/at byte 8/);
    expect(result.stdout).toBe('');
  });

  it('a directory without stats says so', async () => {
    const empty = await imagesDir();
    const result = await runCli(['stats', empty]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('no stats-dump or stats-restore');
  });
});
