import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromText, loadConfigFile, parseConfigText, validateConfig } from '../../src/config/load.js';
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js';
import { bandOf } from '../../src/config/schema.js';
import { POLICY_DEFAULTS } from '../../src/policy/defaults.js';
import { errorLines, useTempDir } from './helpers.js';

const FILE = 'config/demo.yaml';
const BASE = '/etc/remusd';
const check = (text: string) => configFromText(text, FILE, BASE);
const MiB = 2 ** 20;

describe('defaults', () => {
  it('an empty file (or comments only) is the default config', () => {
    for (const text of ['', '# nothing here\n', '---\n']) {
      const result = check(text);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.config.thresholds).toEqual({ lminBytes: 2 * MiB, lmaxBytes: 16 * MiB });
      expect(result.config.interval).toEqual({ initialMs: 200, minMs: 100, maxMs: 5000 });
      expect(result.config.checkpoint).toEqual({
        mode: 'auto',
        dir: '/etc/remusd/remusd-images',
        retention: {
          keep: 5,
          newChainEvery: 20,
          maxChainBytes: null,
          compact: true,
          compactAt: 16,
          compactAfterShip: true,
        },
      });
      expect(result.config.criu).toEqual({
        path: null,
        extraArgs: [],
        logLevel: 2,
        timeoutMs: 120_000,
        realtimePriority: 10,
      });
      expect(result.config.failures).toEqual({ maxConsecutive: 5, backoffInitialMs: 1000, backoffMaxMs: 30_000 });
      expect(result.config.records.file).toBe('/etc/remusd/remusd-images/records.jsonl');
      expect(result.config.metrics).toEqual({ listen: null, allowRemote: false });
    }
  });

  it('takes policy defaults from src/policy (one source of truth)', () => {
    const result = check('policy:\n  kind: predictive\n');
    const { window, change, deadband, target } = POLICY_DEFAULTS;
    expect(result.ok && result.config.policy).toEqual({ kind: 'predictive', window, change, deadband, target });
    // The default kind is predictive (v2 beat the threshold rule); threshold takes its own defaults.
    expect(check('').ok && (check('') as { config: { policy: unknown } }).config.policy).toEqual({
      kind: 'predictive',
      window,
      change,
      deadband,
      target,
    });
    const threshold = check('policy:\n  kind: threshold\n');
    expect(threshold.ok && threshold.config.policy).toEqual({
      kind: 'threshold',
      shrink: POLICY_DEFAULTS.shrink,
      grow: POLICY_DEFAULTS.grow,
    });
  });

  it('moves the default initial interval into [min, max] when they exclude 200 ms', () => {
    const result = check('interval:\n  min: 1s\n  max: 10s\n');
    expect(result.ok && result.config.interval).toEqual({ initialMs: 1000, minMs: 1000, maxMs: 10_000 });
    expect(CONFIG_DEFAULTS.initialMs).toBe(200);
  });

  it('gives the band the policies work within', () => {
    const result = check('thresholds: {lmin: 1MiB, lmax: 8MiB}\ninterval: {min: 50ms, max: 2s}\n');
    expect(result.ok && bandOf(result.config)).toEqual({ lminBytes: MiB, lmaxBytes: 8 * MiB, minMs: 50, maxMs: 2000 });
  });
});

describe('paths', () => {
  it('resolves relative paths against the config file directory', () => {
    const result = check(
      'checkpoint:\n  dir: ../images\nrecords:\n  file: logs/records.jsonl\ncriu:\n  path: bin/criu\n',
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.checkpoint.dir).toBe('/etc/images');
    expect(result.config.records.file).toBe('/etc/remusd/logs/records.jsonl');
    expect(result.config.criu.path).toBe('/etc/remusd/bin/criu');
  });

  it('keeps absolute paths and bare command names', () => {
    const result = check('checkpoint:\n  dir: /var/lib/x/../remusd\ncriu:\n  path: criu\n');
    expect(result.ok && result.config.checkpoint.dir).toBe('/var/lib/remusd');
    expect(result.ok && result.config.criu.path).toBe('criu');
  });

  it('refuses ~, which nothing expands', () => {
    expect(errorLines(check('checkpoint:\n  dir: ~/images\n'))).toEqual([
      'config/demo.yaml:2:8: checkpoint.dir: "~/images" starts with ~, which is not expanded; write an absolute path or one relative to this file',
    ]);
  });
});

describe('errors name the file, the line, the key path, the value and what is allowed', () => {
  it('a size that is not a size', () => {
    expect(errorLines(check('thresholds:\n  lmin: 16 MB\n'))).toEqual([
      'config/demo.yaml:2:9: thresholds.lmin: "16 MB" is not a size; use a number of bytes or units B, KiB, MiB, GiB, TiB (e.g. 16MiB): "MB" is ambiguous (10^n or 2^n bytes), write 16MiB or 16000000',
    ]);
    expect(errorLines(check('thresholds:\n  lmax: lots\n'))[0]).toBe(
      'config/demo.yaml:2:9: thresholds.lmax: "lots" is not a size; use a number of bytes or units B, KiB, MiB, GiB, TiB (e.g. 16MiB)',
    );
  });

  it('a duration that is not a duration, or too short', () => {
    expect(errorLines(check('interval:\n  min: 20us\n'))).toEqual([
      'config/demo.yaml:2:8: interval.min: "20us" is not a duration; use a number of milliseconds or units ms, s, m, h (e.g. 200ms, 1.5s, 2m)',
    ]);
    expect(errorLines(check('interval:\n  min: 0ms\n'))).toEqual([
      'config/demo.yaml:2:8: interval.min: "0ms" is below the minimum of 1 ms',
    ]);
  });

  it('a word not in the list', () => {
    expect(errorLines(check('policy:\n  kind: adaptive\ncheckpoint:\n  mode: incremental\n'))).toEqual([
      'config/demo.yaml:2:9: policy.kind: "adaptive" is not allowed; use one of fixed, threshold, predictive',
      'config/demo.yaml:4:9: checkpoint.mode: "incremental" is not allowed; use one of auto, pre-dump, dump, full, delta',
    ]);
  });

  it('numbers out of range, quoted, or not whole', () => {
    expect(
      errorLines(
        check('policy:\n  shrink: 1.2\n  grow: "2"\ncriu:\n  log_level: 7\nfailures:\n  max_consecutive: 2.5\n'),
      ),
    ).toEqual([
      'config/demo.yaml:2:11: policy.shrink: 1.2 is not allowed; use a number between 0 and 1, exclusive (default 0.5)',
      'config/demo.yaml:3:9: policy.grow: "2" is a string; write the number without quotes',
      'config/demo.yaml:5:14: criu.log_level: 7 is not allowed; use a whole number from 0 to 4',
      'config/demo.yaml:7:20: failures.max_consecutive: 2.5 is not allowed; use a whole number ≥ 1',
    ]);
  });

  it('predictive options checked by the policy rules', () => {
    expect(
      errorLines(check('policy:\n  kind: predictive\n  window: 0\n  target: median\n  change: 1\n  deadband: 0.9\n')),
    ).toEqual([
      'config/demo.yaml:3:11: policy.window: 0 is not allowed; use a whole number from 1 to 64 (default 8)',
      'config/demo.yaml:4:11: policy.target: "median" is not allowed; use "geometric" or "arithmetic" (default "geometric")',
      'config/demo.yaml:5:11: policy.change: 1 is not allowed; use a number above 1 and at most 10 (default 1.5)',
      'config/demo.yaml:6:13: policy.deadband: 0.9 is not allowed; use a number from 1 to 10 (default 1.7)',
    ]);
  });

  it('empty values, wrong shapes, YAML booleans', () => {
    expect(
      errorLines(
        check(
          'thresholds:\n  lmin:\ninterval: 5\ncriu:\n  extra_args: --tcp-established\nmetrics:\n  allow_remote: yes\n',
        ),
      ),
    ).toEqual([
      'config/demo.yaml:2:3: thresholds.lmin: has no value; write a size (e.g. 16MiB), or leave the key out',
      'config/demo.yaml:3:11: interval: 5 is not a mapping; it takes the keys initial, min, max',
      'config/demo.yaml:5:15: criu.extra_args: "--tcp-established" is not a list; write a YAML list of strings, e.g. ["--tcp-established"]',
      'config/demo.yaml:7:17: metrics.allow_remote: "yes" is not allowed; use true or false',
    ]);
    expect(errorLines(check('policy:\n'))).toEqual([
      'config/demo.yaml:1:1: policy: has no value; write its keys (kind, shrink, grow, window, change, deadband, target) under it, or leave it out',
    ]);
    expect(errorLines(check('- thresholds\n'))[0]).toMatch(
      /^config\/demo\.yaml:1:1: the file must be a mapping of sections \(thresholds, interval/,
    );
  });

  it('a list item', () => {
    expect(errorLines(check('criu:\n  extra_args: ["--shell-job", 3]\n'))).toEqual([
      'config/demo.yaml:2:31: criu.extra_args[1]: 3 is not allowed; each item must be a non-empty string (quote numbers)',
    ]);
  });

  it('YAML syntax errors and duplicate keys, with their line', () => {
    expect(errorLines(check('thresholds:\n  lmin: 1MiB\n  lmin: 2MiB\n'))).toEqual([
      'config/demo.yaml:3:3: invalid YAML: Map keys must be unique',
    ]);
    const lines = errorLines(check('thresholds:\n  lmin: [1MiB\n'));
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/^config\/demo\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('reports every error at once, in file order', () => {
    const lines = errorLines(check('criu:\n  log_level: 9\nthresholds:\n  lmin: x\n  lmax: y\n'));
    expect(lines.map((line) => line.split(': ')[1])).toEqual(['criu.log_level', 'thresholds.lmin', 'thresholds.lmax']);
  });

  it('without a source (validateConfig on plain data) errors still carry the file and key path', () => {
    const result = validateConfig({ thresholds: { lmin: '16 MB' } }, 'inline', BASE);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors[0]).toMatchObject({ file: 'inline', path: 'thresholds.lmin', value: '16 MB' });
    expect(result.errors[0]?.line).toBeUndefined();
  });
});

describe('unknown keys are errors, at every level', () => {
  it('top level, nested, deeply nested, with a suggestion', () => {
    expect(
      errorLines(
        check(
          'treshold:\n  lmin: 1MiB\nthresholds:\n  lmni: 1MiB\ncheckpoint:\n  retention:\n    keep_last: 3\npolicy:\n  dead-band: 3\n',
        ),
      ),
    ).toEqual([
      'config/demo.yaml:1:1: treshold: is not a known key; allowed sections: thresholds, interval, policy, checkpoint, criu, failures, records, metrics, network, output_commit, probe, fencing, workload (did you mean thresholds?)',
      'config/demo.yaml:4:3: thresholds.lmni: is not a known key; allowed keys under thresholds: lmin, lmax (did you mean lmin?)',
      'config/demo.yaml:7:5: checkpoint.retention.keep_last: is not a known key; allowed keys under checkpoint.retention: keep, new_chain_every, max_chain_bytes, compact, compact_at, compact_after_ship',
      'config/demo.yaml:9:3: policy.dead-band: is not a known key; allowed keys under policy: kind, shrink, grow, window, change, deadband, target (did you mean deadband?)',
    ]);
  });

  it('a policy option the kind ignores is an error too, not a silent no-op', () => {
    expect(errorLines(check('policy:\n  grow: 2\n'))).toEqual([
      'config/demo.yaml:2:9: policy.grow: has no effect with policy.kind predictive (default); it applies to threshold: remove it or change policy.kind',
    ]);
    expect(errorLines(check('policy:\n  kind: fixed\n  shrink: 0.5\n'))[0]).toContain(
      'policy.shrink: has no effect with policy.kind fixed; it applies to threshold',
    );
  });
});

describe('rules across keys', () => {
  it('lmin > lmax names both values', () => {
    expect(errorLines(check('thresholds:\n  lmin: 16MiB\n  lmax: 8MiB\n'))).toEqual([
      'config/demo.yaml:2:9: thresholds.lmin: 16.0 MiB is greater than thresholds.lmax 8.0 MiB; lmin must be ≤ lmax',
    ]);
    expect(errorLines(check('thresholds:\n  lmax: 1MiB\n'))).toEqual([
      'config/demo.yaml:2:9: thresholds.lmax: 1.0 MiB is less than thresholds.lmin 2.0 MiB (default); lmin must be ≤ lmax',
    ]);
    expect(check('thresholds:\n  lmin: 8MiB\n  lmax: 8MiB\n').ok).toBe(true);
  });

  it('min ≤ initial ≤ max', () => {
    expect(errorLines(check('interval:\n  min: 2s\n  max: 1s\n'))).toEqual([
      'config/demo.yaml:2:8: interval.min: 2.00 s is greater than interval.max 1.00 s; min must be ≤ max',
    ]);
    expect(errorLines(check('interval:\n  initial: 50ms\n'))).toEqual([
      'config/demo.yaml:2:12: interval.initial: 50 ms is outside interval.min 100 ms (default) .. interval.max 5.00 s (default); initial must satisfy min ≤ initial ≤ max',
    ]);
  });

  it('backoff_initial ≤ backoff_max', () => {
    expect(errorLines(check('failures:\n  backoff_initial: 1m\n'))).toEqual([
      'config/demo.yaml:2:20: failures.backoff_initial: 60.00 s is greater than failures.backoff_max 30.00 s (default); initial must be ≤ max',
    ]);
  });

  it('metrics only on loopback unless allowed', () => {
    expect(errorLines(check('metrics:\n  listen: 0.0.0.0:9464\n'))).toEqual([
      'config/demo.yaml:2:11: metrics.listen: "0.0.0.0:9464" is not a loopback address; the metrics endpoint has no authentication, so use 127.0.0.1 or [::1], or set metrics.allow_remote: true',
    ]);
    const remote = check('metrics:\n  listen: 0.0.0.0:9464\n  allow_remote: true\n');
    expect(remote.ok && remote.config.metrics).toEqual({ listen: { host: '0.0.0.0', port: 9464 }, allowRemote: true });
    for (const listen of ['127.0.0.1:9464', '127.1.2.3:80', '"[::1]:9464"', 'localhost:9464']) {
      expect(check(`metrics:\n  listen: ${listen}\n`).ok, listen).toBe(true);
    }
    expect(errorLines(check('metrics:\n  listen: 9464\n'))[0]).toContain('metrics.listen: 9464 is not host:port');
    expect(errorLines(check('metrics:\n  listen: 127.0.0.1:70000\n'))[0]).toContain('has a port outside 1..65535');
    expect(errorLines(check('metrics:\n  allow_remote: true\n'))[0]).toContain(
      'metrics.allow_remote: has no effect without metrics.listen',
    );
  });

  it('criu.extra_args may not repeat what remusd sets', () => {
    expect(errorLines(check('criu:\n  extra_args: [--shell-job, -v4, "--images-dir=/x", -D]\n'))).toEqual([
      'config/demo.yaml:2:29: criu.extra_args[1]: "-v4" is set from criu.log_level; remove it and set criu.log_level (0-4)',
      'config/demo.yaml:2:34: criu.extra_args[2]: "--images-dir=/x" is set by remusd itself; remove it',
      'config/demo.yaml:2:53: criu.extra_args[3]: "-D" is set by remusd itself; remove it',
    ]);
  });

  it('criu.realtime_priority: 1 to 99, or none', () => {
    const set = check('criu:\n  realtime_priority: 50\n');
    expect(set.ok && set.config.criu.realtimePriority).toBe(50);
    const none = check('criu:\n  realtime_priority: none\n');
    expect(none.ok && none.config.criu.realtimePriority).toBeNull();
    expect(errorLines(check('criu:\n  realtime_priority: 0\n'))[0]).toContain(
      'criu.realtime_priority: 0 is not allowed; use a whole number from 1 to 99, or none',
    );
    expect(errorLines(check('criu:\n  realtime_priority: "10"\n'))[0]).toContain(
      'criu.realtime_priority: "10" is a string; write the number without quotes',
    );
  });

  it('max_chain_bytes must be positive when set', () => {
    expect(errorLines(check('checkpoint:\n  retention:\n    max_chain_bytes: 0\n'))[0]).toContain(
      'checkpoint.retention.max_chain_bytes: 0 B would end every chain at once',
    );
  });
});

describe('parseConfigText and loadConfigFile', () => {
  const tempDir = useTempDir();

  it('parseConfigText hands back unvalidated data and a locator', () => {
    const parsed = parseConfigText('thresholds:\n  lmin: 1MiB\n', 'x.yaml');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.raw).toEqual({ thresholds: { lmin: '1MiB' } });
    expect(parsed.locate(['thresholds', 'lmin'])).toEqual({ line: 2, column: 9 });
    expect(parsed.locate(['thresholds', 'lmin'], 'key')).toEqual({ line: 2, column: 3 });
  });

  it('loads a file and resolves paths against its directory', async () => {
    const dir = await tempDir();
    await mkdir(join(dir, 'etc'));
    await writeFile(join(dir, 'etc', 'remusd.yaml'), 'checkpoint:\n  dir: ../images\n');
    const result = await loadConfigFile(join(dir, 'etc', 'remusd.yaml'));
    expect(result.ok && result.config.checkpoint.dir).toBe(join(dir, 'images'));
  });

  it('names the file in every error, including a missing one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'thresholds:\n  lmin: 16 MB\n');
    expect(errorLines(await loadConfigFile(path))[0]).toMatch(new RegExp(`^${path}:2:9: thresholds\\.lmin: "16 MB"`));
    expect(errorLines(await loadConfigFile(join(dir, 'missing.yaml')))).toEqual([
      `${join(dir, 'missing.yaml')}: cannot read the file: no such file (ENOENT)`,
    ]);
  });
});
