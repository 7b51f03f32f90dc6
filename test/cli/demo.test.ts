import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/process/proc.js';
import { readWorkloadOutput } from '../../src/workload/progress.js';
import { execa } from 'execa';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { demoOutput } from '../../src/cli/json-schemas.js';
import { join, dirname } from 'node:path';

describe("remusd demo (the README's main command, shortened)", () => {
  it('supervises the phased workload in the best mode here, adapts the interval, leaves records and stops the workload', async () => {
    const result = await runCli(['demo', '--seconds', '6', '--json'], { timeoutMs: 60_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const json = demoOutput.parse(JSON.parse(result.stdout)); // stdout is the JSON alone, in its documented shape
    expect(json.mode).toBe('delta'); // no soft-dirty on these machines: the software deltas
    // Idle, 6 s give 10-12 checkpoints; CI at load 10 got 6 (each dump took longer). Several, not a count.
    expect(json.summary!.checkpoints).toBeGreaterThanOrEqual(4);
    // 8000 pages/s (31 MiB/s) against lmax 8 MiB from 500 ms: the interval must have come down.
    expect(json.summary!.interval_ms.min).toBeLessThan(500);
    // In band most of the time, or, where the dumps themselves are too slow for the band, at the minimum
    // interval: idle, most checkpoints land in [1, 8] MiB; at load 11 here CRIU took 450 ms (median) and at
    // 31 MiB/s even the 200 ms minimum gave 22-30 MiB. Then the policy must sit at that minimum.
    const { in_band_share: inBand, interval_ms: interval, size_bytes: size, criu_wall_ms: wall } = json.summary!;
    if (inBand <= 0.5) {
      const why = `in band ${inBand}, CRIU ${wall.median} ms, size median ${size.median}`;
      expect(interval.min, why).toBe(200);
      expect(size.median, why).toBeGreaterThan(8 * 1024 * 1024);
    }
    // The workload was stopped at the end (--stop-workload is part of the demo).
    const output = await readWorkloadOutput(join(dirname(json.records), 'workload.out'));
    const pid = output.starts.at(-1)!.pid;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await isAlive(pid)).toBe(false);
    expect(output.corrupt).toEqual([]);
  });

  it('demo | head -1: exits 0 quietly and stops its workload (it printed an EPIPE stack, exited 1 and left it running)', async () => {
    const cli = join(packageRoot(), 'dist', 'cli', 'main.js');
    const result = await execa('bash', ['-c', `set -o pipefail; ${cli} demo --seconds 60 | head -1`], {
      reject: false,
      timeout: 60_000,
    });
    expect(result.exitCode, result.stderr).toBe(0); // pipefail: remusd's own status
    expect(result.stdout.split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/EPIPE.*\n\s+at |internal error/);
    expect(result.stderr).toContain('stdout was closed (EPIPE)');
    const output = await readWorkloadOutput(join(packageRoot(), '.remusd', 'demo-images', 'workload.out'));
    const pid = output.starts.at(-1)!.pid;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await isAlive(pid)).toBe(false);
  });
});
