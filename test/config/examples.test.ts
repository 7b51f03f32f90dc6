// Every example in config/ must validate, and mean what its comments say.

import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { formatConfigError } from '../../src/config/errors.js';
import type { Config } from '../../src/config/schema.js';
import { createPolicy } from '../../src/policy/index.js';

const CONFIG_DIR = resolve(import.meta.dirname, '../../config');
const REPO = resolve(CONFIG_DIR, '..');
const MiB = 2 ** 20;

async function load(name: string): Promise<Config> {
  const result = await loadConfigFile(join(CONFIG_DIR, name));
  if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('\n'));
  return result.config;
}

describe('config/*.yaml', () => {
  it('all validate, and their policies can be built', async () => {
    const names = (await readdir(CONFIG_DIR)).filter((name) => name.endsWith('.yaml'));
    expect(names.sort()).toEqual(['demo.yaml', 'fixed-baseline.yaml', 'production.yaml', 'research-predictive.yaml']);
    for (const name of names) {
      const config = await load(name);
      expect(() => createPolicy(config.policy), name).not.toThrow();
    }
  });

  it('demo.yaml: the 1..8 MiB band, 500 ms in 200 ms..5 s, threshold, images under .remusd/', async () => {
    const config = await load('demo.yaml');
    expect(config.thresholds).toEqual({ lminBytes: 1 * MiB, lmaxBytes: 8 * MiB });
    expect(config.interval).toEqual({ initialMs: 500, minMs: 200, maxMs: 5000 });
    expect(config.policy).toEqual({ kind: 'threshold', shrink: 0.5, grow: 1.5 });
    expect(config.checkpoint.mode).toBe('auto');
    expect(config.checkpoint.dir).toBe(join(REPO, '.remusd/demo-images'));
    expect(config.records.file).toBe(join(REPO, '.remusd/demo-images/records.jsonl'));
    expect(config.metrics).toEqual({ listen: null, allowRemote: false });
  });

  it('production.yaml: retention, failures, loopback metrics', async () => {
    const config = await load('production.yaml');
    expect(config.checkpoint.retention).toEqual({
      keep: 10,
      newChainEvery: 50,
      maxChainBytes: 2 * 2 ** 30,
      compact: true,
      compactAt: 32,
      compactAfterShip: true,
    });
    expect(config.failures).toEqual({ maxConsecutive: 10, backoffInitialMs: 2000, backoffMaxMs: 60_000 });
    expect(config.metrics.listen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(config.criu).toEqual({
      path: '/opt/remusd/criu/bin/criu',
      extraArgs: ['--tcp-established'],
      logLevel: 2,
      timeoutMs: 120_000,
      realtimePriority: 10,
    });
  });

  it('research-predictive.yaml: every predictive option', async () => {
    const config = await load('research-predictive.yaml');
    expect(config.policy).toEqual({
      kind: 'predictive',
      window: 8,
      change: 1.5,
      deadband: 1.7,
      target: 'geometric',
    });
    expect(config.records.file).toBe(join(REPO, '.remusd/research-records.jsonl'));
  });

  it('fixed-baseline.yaml: the Remus 200 ms epoch', async () => {
    const config = await load('fixed-baseline.yaml');
    expect(config.policy).toEqual({ kind: 'fixed' });
    expect(config.interval).toEqual({ initialMs: 200, minMs: 200, maxMs: 200 });
  });
});
