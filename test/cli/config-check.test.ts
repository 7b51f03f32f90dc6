import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';

describe('remusd config check', () => {
  it('accepts every bundled example and prints it normalized with --json', async () => {
    for (const name of ['demo.yaml', 'production.yaml', 'research-predictive.yaml', 'fixed-baseline.yaml']) {
      const result = await runCli(['config', 'check', join(packageRoot(), 'config', name), '--json']);
      expect(result.exitCode, `${name}: ${result.stdout}`).toBe(0);
      const json = JSON.parse(result.stdout);
      expect(json.ok).toBe(true);
      expect(json.config.thresholds.lmin_bytes).toBeLessThanOrEqual(json.config.thresholds.lmax_bytes);
    }
  });

  it('rejects a bad file with the file, line, key path, value and what is allowed, all errors at once', async () => {
    const dir = await imagesDir('remusd-config-');
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'thresholds:\n  lmin: 16 MB\n  lmax: 8MiB\ninterval:\n  initial: 200ms\n  maxx: 5s\n');
    const result = await runCli(['config', 'check', file]);
    expect(result.exitCode).toBe(2); // a config error, like run --config on the same file
    expect(result.stderr).toContain(`${file}:2:9: thresholds.lmin: "16 MB" is not a size`);
    expect(result.stderr).toContain(`${file}:6:3: interval.maxx: is not a known key`);
    expect(result.stderr).toContain('(did you mean max?)');
  });

  it('rejects lmin > lmax naming both values', async () => {
    const dir = await imagesDir('remusd-config-');
    const file = join(dir, 'inverted.yaml');
    await writeFile(file, 'thresholds: { lmin: 9MiB, lmax: 2MiB }\n');
    const result = await runCli(['config', 'check', file, '--json']);
    expect(result.exitCode).toBe(2);
    const json = JSON.parse(result.stdout);
    expect(json.ok).toBe(false);
    expect(JSON.stringify(json.errors)).toMatch(/9.*MiB.*2.*MiB|lmin.*lmax/);
  });

  it('run refuses to start on an invalid config, with exit status 2', async () => {
    const dir = await imagesDir('remusd-config-');
    const file = join(dir, 'unknown-key.yaml');
    await writeFile(file, 'checkpoint: { mode: full, dirr: /tmp/x }\n');
    const result = await runCli(['run', '--config', file, '--', 'true']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('checkpoint');
    expect(result.stderr).toContain('dirr');
  });
});
