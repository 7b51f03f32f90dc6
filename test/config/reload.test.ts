import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { describeChange, planReload } from '../../src/config/reload.js';
import type { Config } from '../../src/config/schema.js';

function config(raw: unknown): Config {
  const result = validateConfig(raw, 'test.yaml', '/etc/remusd');
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.config;
}

describe('planReload', () => {
  const base = { thresholds: { lmin: '1MiB', lmax: '8MiB' }, checkpoint: { dir: '/var/lib/remusd/a', mode: 'delta' } };

  it('lists exactly the keys that changed, and applies band, interval bounds and policy live', () => {
    const plan = planReload(
      config(base),
      config({
        ...base,
        thresholds: { lmin: '1MiB', lmax: '64MiB' },
        interval: { min: '50ms' },
        policy: { kind: 'threshold' },
      }),
    );
    expect(plan.ok).toBe(true);
    expect(plan.changes.map((c) => c.key)).toEqual(
      expect.arrayContaining(['thresholds.lmax_bytes', 'interval.min_ms', 'policy.kind']),
    );
    expect(plan.changes.map((c) => c.key)).not.toContain('thresholds.lmin_bytes');
    expect(plan.changes.map(describeChange)).toContain('thresholds.lmax_bytes 8388608 → 67108864');
  });

  it('refuses checkpoint.dir, checkpoint.mode, records.file and metrics.listen: they need a restart', () => {
    for (const [change, key] of [
      [{ checkpoint: { dir: '/var/lib/remusd/b', mode: 'delta' } }, 'checkpoint.dir'],
      [{ checkpoint: { dir: '/var/lib/remusd/a', mode: 'full' } }, 'checkpoint.mode'],
      [{ records: { file: '/tmp/r.jsonl' } }, 'records.file'],
      [{ metrics: { listen: '127.0.0.1:9464' } }, 'metrics.listen'],
      [{ interval: { initial: '1s' } }, 'interval.initial_ms'],
    ] as const) {
      const plan = planReload(config(base), config({ ...base, thresholds: { lmin: '1MiB', lmax: '9MiB' }, ...change }));
      expect(plan.ok, key).toBe(false);
      if (!plan.ok) expect(plan.needsRestart.map((c) => c.key)).toContain(key);
      // The live change in the same file is listed among the changes, but not applied (the whole file is refused).
      expect(plan.changes.map((c) => c.key)).toContain('thresholds.lmax_bytes');
    }
  });

  it('an unchanged file changes nothing', () => {
    expect(planReload(config(base), config(base))).toEqual({ ok: true, changes: [] });
  });
});
