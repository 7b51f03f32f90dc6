// The dirty-size probe where /proc/PID/clear_refs cannot be written (a read-only file bound over it, as a
// sandbox or a kernel without it would leave it): `remusd run` degrades gracefully, saying why once, and
// checkpoints follow the policy's intervals. The control is the same run without the mount.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { readRecords } from '../helpers/records.js';
import { requireRoot } from '../helpers/root.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
let mounted: string | undefined;
afterEach(async () => {
  if (mounted !== undefined) await execa('umount', [mounted], { reject: false });
  mounted = undefined;
  await workload?.stop();
  workload = undefined;
});

const CONFIG =
  'thresholds: { lmin: 1MiB, lmax: 4MiB }\ninterval: { initial: 300ms, min: 200ms, max: 2s }\n' +
  'checkpoint: { mode: delta, dir: ./images }\nprobe: { enabled: true }\n';

// Three checkpoints of a 16 MiB dirtier writing 300 pages/s, with clear_refs read-only or not.
async function run(readOnlyClearRefs: boolean) {
  requireRoot();
  workload = await startWorkload(['--mib', '16', '--phases', '300:1000000', '--report-ms', '1000000']);
  const root = await imagesDir();
  if (readOnlyClearRefs) {
    const blocker = join(root, 'read-only');
    await writeFile(blocker, '');
    const target = `/proc/${workload.pid}/clear_refs`;
    await execa('mount', ['--bind', '-o', 'ro', blocker, target]);
    mounted = target;
  }
  const config = join(root, 'remusd.yaml');
  await writeFile(config, CONFIG);
  const result = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '3']);
  const records = await readRecords(join(root, 'images', 'records.jsonl'));
  return { result, records };
}

describe('the dirty-size probe when clear_refs cannot be written (real CRIU)', () => {
  it('logs why once and checkpoints at the policy intervals; the control probes', async () => {
    const blocked = await run(true);
    expect(blocked.result.exitCode, blocked.result.stderr).toBe(0);
    const warnings = blocked.result.stderr.split('\n').filter((line) => line.includes('dirty-size probe unavailable'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /dirty-size probe unavailable, checkpoints follow the policy's intervals: dirty-size probe: \/proc\/\d+\/clear_refs: .*(EROFS|read-only)/i,
    );
    expect(blocked.records).toHaveLength(3);
    expect(blocked.records.every((r) => r.probe === null)).toBe(true);
    // Each started when the interval in force was up, not before (no reading started one early).
    for (const r of blocked.records.slice(1))
      expect(r.elapsed_ms!, `seq ${r.seq}`).toBeGreaterThanOrEqual(r.interval_ms);
    await execa('umount', [mounted!]);
    mounted = undefined;
    await workload?.stop();
    workload = undefined;

    const control = await run(false);
    expect(control.result.exitCode, control.result.stderr).toBe(0);
    expect(control.result.stderr).toMatch(/dirty-size probe on: reading \/proc\/\d+\/smaps/);
    expect(control.result.stderr).not.toMatch(/dirty-size probe unavailable/);
    // After the first checkpoint every wait is a probed one (the records say how each started), except
    // after a checkpoint that overran its interval: the next starts at once, with no wait to probe. The
    // first, a full dump, overran the 300 ms initial interval in 5 of 6 runs at load 6-7 (with and without the probe changes of this session).
    const probedWaits = control.records.slice(1).filter((_, i) => control.records[i]?.overrun === false);
    expect(probedWaits.length).toBeGreaterThan(0);
    expect(probedWaits.every((r) => r.probe !== null)).toBe(true);
  }, 60_000);
});
