// `remusd calibrate` and `simulate`/`compare --cost FILE` as a user runs them (the built CLI; no CRIU).

import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_OUTPUTS } from '../../src/cli/json-schemas.js';
import { loadCostProfile } from '../../src/sim/cost-profile.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from './helpers.js';
import { scratchDir } from '../helpers/scratch.js';

const FIXTURES = ['delta-16mib', 'delta-64mib', 'full-1mib', 'full-16mib', 'full-64mib', 'full-256mib'].map((n) =>
  fixture(`criu-4.2.1/${n}.records.jsonl`),
);

describe('remusd calibrate', () => {
  it('fits each mode, prints the fits with their error and writes a profile simulate and compare then charge', async () => {
    const dir = await scratchDir('remusd-calibrate-');
    const out = join(dir, 'cost.json');
    const result = await runCli(['calibrate', ...FIXTURES, '--out', out, '--note', 'fixtures']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^mode\s+cost\s+base\s+per page scanned\s+per page written\s+samples\s+R²\s+residual p50\s+residual p90\s+outliers$/m,
    );
    expect(result.stdout).toMatch(/^delta\s+rewrite\s+[\d.]+ ms/m);
    expect(result.stdout).toMatch(/^full\s+frozen\s+[\d.]+ ms\s+[\d.]+ µs\s+[\d.]+ µs\s+\d+\s+0\.\d{3}/m);
    const profile = await loadCostProfile(out);
    expect(profile.measured.note).toBe('fixtures');
    expect(profile.measured.at).toMatch(/^2026-12-02T00:19:49.965Z to /);

    const sim = await runCli(['simulate', '--cost', out, '--mode', 'full', '--duration', '10s', '--json']);
    expect(sim.exitCode, sim.stderr).toBe(0);
    const simJson = JSON_OUTPUTS.simulate.parse(JSON.parse(sim.stdout));
    expect(simJson.cost.mode).toBe('full');
    expect(simJson.cost.frozen.base_ms).toBe(JSON.parse(await readFile(out, 'utf8')).modes.full.frozen.base_ms);

    const json = await runCli(['calibrate', FIXTURES[0]!, '--json']);
    expect(json.exitCode, json.stderr).toBe(0);
    const parsed = JSON_OUTPUTS.calibrate.parse(JSON.parse(json.stdout));
    expect(parsed.out).toBeNull();
    expect(Object.keys(parsed.profile.modes)).toEqual(['delta']);
  });

  it('refuses records it cannot calibrate on, naming the line', async () => {
    const result = await runCli(['calibrate', fixture('malformed.records.jsonl')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/malformed\.records\.jsonl:3: not a JSON record/);
  });

  it('--cost refuses a FIFO, a bad field and a mode the profile lacks, each with a usage error', async () => {
    const dir = await scratchDir('remusd-cost-');
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fromFifo = await runCli(['simulate', '--cost', fifo], { timeoutMs: 30_000 });
    expect(fromFifo.exitCode).toBe(2);
    expect(fromFifo.stderr).toMatch(/--cost cost profile .*fifo: is a FIFO, not a regular file/);
    const bad = join(dir, 'bad.json');
    await writeFile(
      bad,
      JSON.stringify({
        remusd_cost_profile: 1,
        measured: { host: '', kernel: '', criu: '', at: '', records: [], note: '' },
        modes: { delta: { frozen: { base_ms: -1, per_scanned_page_us: 0, per_written_page_us: 'x' } } },
      }),
    );
    const badField = await runCli(['compare', '--workload', '2000:5', '--cost', bad]);
    expect(badField.exitCode).toBe(2);
    expect(badField.stderr).toMatch(/bad\.json: modes\.delta\.frozen\.per_written_page_us "x" is not a finite number/);
    const noMode = await runCli(['simulate', '--mode', 'pre-dump']);
    expect(noMode.exitCode).toBe(2);
    expect(noMode.stderr).toMatch(
      /the default cost profile has no cost model for mode pre-dump \(it has full, delta\)/,
    );
  });
});
