// The dirty-size probe where /proc/PID/clear_refs cannot be written (a read-only file bound over it, as a
// sandbox or a kernel without it would leave it): `remusd run` degrades gracefully, saying why once, and
// checkpoints follow the policy's intervals. The control is the same run without the mount. The config does
// not name the probe: probe.enabled auto turns it on for the predictive policy in mode delta, and off in
// mode full.
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

const config = (mode: string) =>
  'thresholds: { lmin: 1MiB, lmax: 4MiB }\ninterval: { initial: 1500ms, min: 200ms, max: 3s }\n' +
  `checkpoint: { mode: ${mode}, dir: ./images }\n`;

// Three checkpoints of a 16 MiB dirtier writing 300 pages/s, with clear_refs read-only or not.
async function run(readOnlyClearRefs: boolean, mode = 'delta') {
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
  const file = join(root, 'remusd.yaml');
  await writeFile(file, config(mode));
  const result = await runCli(['run', '--config', file, '--pid', String(workload.pid), '--max-checkpoints', '3']);
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
    expect(control.result.stderr).toMatch(
      /dirty-size probe on \(auto: predictive policy, mode delta\): reading \/proc\/\d+\/smaps/,
    );
    expect(control.result.stderr).not.toMatch(/dirty-size probe unavailable/);
    // After the first checkpoint every wait is a probed one (the records say how each started), except after
    // a checkpoint that overran its interval: the next starts at once, with no wait to probe. With a 300 ms
    // initial interval the first, a full dump, overran in 5 of 6 runs at load 6-7; 1.5 s leaves it a wait.
    const probedWaits = control.records.slice(1).filter((_, i) => control.records[i]?.overrun === false);
    expect(probedWaits.length).toBeGreaterThan(0);
    expect(probedWaits.every((r) => r.probe !== null)).toBe(true);
  }, 60_000);

  it('is off in mode full by default (auto), with no error for the config', async () => {
    const full = await run(false, 'full');
    expect(full.result.exitCode, full.result.stderr).toBe(0);
    expect(full.result.stderr).toMatch(/dirty-size probe off \(auto: mode full stores the whole memory/);
    expect(full.records).toHaveLength(3);
    expect(full.records.every((r) => r.probe === null)).toBe(true);
  }, 60_000);
});
