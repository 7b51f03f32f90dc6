// `remusd run` as an operator sees it (real CRIU): honest reloads and the metrics alerts are built on.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);

describe('remusd run: reloads and metrics (real CRIU)', () => {
  it('a reload names the keys it changed; keys that need a restart are refused as a whole; metrics say so', async () => {
    workload = await startWorkload(['--mib', '4']);
    const root = await imagesDir('remusd-ops-');
    const port = await freePort();
    const path = join(root, 'remusd.yaml');
    const body = (lmax: string, dir: string) =>
      `thresholds: { lmin: 1MiB, lmax: ${lmax} }\ninterval: { initial: 200ms, min: 100ms, max: 1s }\ncheckpoint: { mode: full, dir: ${dir} }\nmetrics: { listen: "127.0.0.1:${port}" }\n`;
    await writeFile(path, body('8MiB', './images'));
    const supervisor = spawnCli(['run', '--config', path, '--pid', String(workload.pid)]);
    let log = '';
    supervisor.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const first = await waitFor('2 checkpoints in the metrics', async () => {
      const text = await scrape().catch(() => '');
      return metric(text, 'remusd_checkpoints_total') >= 2 ? text : undefined;
    });
    // What alerts are written on, with Prometheus names.
    expect(metric(first, 'remusd_last_checkpoint_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(first).toMatch(
      /^remusd_build_info\{version="\d+\.\d+\.\d+",node_version="v\d+[^"]*",criu_version="4\.\d+[^"]*",mode="full"\} 1$/m,
    );
    expect(first).toMatch(/^remusd_criu_duration_seconds_count \d+$/m);
    expect(first).toMatch(/^remusd_decisions_total\{decision="(shrink|grow|hold)"\} [1-9]\d*$/m);
    expect(metric(first, 'remusd_band_lmax_bytes')).toBe(8 * 2 ** 20);
    expect(metric(first, 'remusd_interval_max_seconds')).toBe(1);
    expect(first).toMatch(/^remusd_checkpoint_overruns_total \d+$/m);
    expect(first).toMatch(/^process_resident_memory_bytes \d+/m);
    expect(metric(first, 'remusd_config_last_reload_successful')).toBe(1);
    const loadedAt = metric(first, 'remusd_config_last_reload_success_timestamp_seconds');

    // checkpoint.dir cannot move under a running supervisor: refused, named, nothing of the file applied.
    await writeFile(path, body('64MiB', './elsewhere'));
    await waitFor('the refusal', () => (log.includes('config reload refused') ? true : undefined));
    // records.file follows checkpoint.dir by default, so it moves too; both are named.
    expect(log).toContain('config reload refused: checkpoint.dir');
    expect(log).toContain('"needs_restart":["checkpoint.dir","records.file"]');
    expect(log).toContain('these keys need a restart');
    expect(metric(await scrape(), 'remusd_config_last_reload_successful')).toBe(0);
    expect(metric(await scrape(), 'remusd_band_lmax_bytes')).toBe(8 * 2 ** 20); // the lmax of that file was not applied

    // A live change: applied, and exactly that key is named.
    await writeFile(path, body('64MiB', './images'));
    await waitFor('the reload', () => (log.includes('config reloaded') ? true : undefined));
    expect(log).toContain('thresholds.lmax_bytes 8388608 → 67108864');
    const after = await waitFor('lmax 64 MiB in force', async () => {
      const text = await scrape();
      return metric(text, 'remusd_band_lmax_bytes') === 64 * 2 ** 20 ? text : undefined;
    });
    expect(metric(after, 'remusd_config_last_reload_successful')).toBe(1);
    expect(metric(after, 'remusd_config_last_reload_success_timestamp_seconds')).toBeGreaterThan(loadedAt);
    process.kill(supervisor.pid!, 'SIGTERM');
    expect((await supervisor).exitCode).toBe(0);
    const records = (await readFile(join(root, 'images', 'records.jsonl'), 'utf8')).trim().split('\n');
    expect(records.length).toBeGreaterThanOrEqual(2);
  });
});
