// The `probe` section: defaults, strict keys, and the rules that involve more than one key.
import { describe, expect, it } from 'vitest';
import { CONFIG_DEFAULTS } from '../../src/config/defaults.js';
import { configFromText } from '../../src/config/load.js';
import { errorLines } from './helpers.js';

const check = (text: string) => configFromText(text, 'c.yaml', '/etc/remusd');

describe('config: probe', () => {
  it('has defaults, and takes its keys', () => {
    const empty = check('');
    expect(CONFIG_DEFAULTS.probeEnabled).toBe('auto');
    expect(empty.ok && empty.config.probe).toEqual({
      enabled: 'auto',
      minPeriodMs: 25,
      maxPeriodMs: 100,
      defer: true,
    });
    const set = check('probe: { enabled: true, min_period: 10ms, max_period: 1s, defer: false }');
    expect(set.ok && set.config.probe).toEqual({ enabled: true, minPeriodMs: 10, maxPeriodMs: 1000, defer: false });
  });

  it('refuses unknown keys, min_period > max_period, and keys that do nothing while it is off', () => {
    expect(errorLines(check('probe: { enabled: true, period: 10ms }')).join('\n')).toMatch(/probe.*period/);
    expect(errorLines(check('probe: { enabled: true, min_period: 200ms }')).join('\n')).toMatch(
      /probe\.min_period.*200 ms is greater than probe\.max_period 100 ms \(default\); min_period must be ≤ max_period/,
    );
    expect(errorLines(check('probe: { enabled: false, defer: false }')).join('\n')).toMatch(
      /probe\.defer.*has no effect while probe\.enabled is false/,
    );
  });

  it('refuses probe.enabled in mode full, where every checkpoint stores the whole memory', () => {
    expect(errorLines(check('checkpoint: { mode: full }\nprobe: { enabled: true }')).join('\n')).toMatch(
      /probe\.enabled.*has no effect in checkpoint\.mode full \(every checkpoint stores the whole memory/,
    );
    // The control: the same in an incremental mode, and mode full without the probe or with auto.
    expect(check('checkpoint: { mode: delta }\nprobe: { enabled: true }').ok).toBe(true);
    expect(check('checkpoint: { mode: full }\nprobe: { enabled: false }').ok).toBe(true);
    expect(check('checkpoint: { mode: full }\nprobe: { enabled: auto }').ok).toBe(true);
    expect(check('checkpoint: { mode: full }').ok).toBe(true);
  });

  it('takes auto, and refuses the keys auto leaves without effect (mode full, the fixed policy)', () => {
    expect(errorLines(check('probe: { enabled: yes }')).join('\n')).toMatch(
      /probe\.enabled.*"yes" is not allowed; use true, false or auto/,
    );
    expect(errorLines(check('checkpoint: { mode: full }\nprobe: { max_period: 50ms }')).join('\n')).toMatch(
      /probe\.max_period.*has no effect here: probe\.enabled auto leaves the probe off \(mode full stores the whole memory/,
    );
    expect(errorLines(check('policy: { kind: fixed }\nprobe: { defer: false }')).join('\n')).toMatch(
      /probe\.defer.*probe\.enabled auto leaves the probe off \(the fixed policy keeps its interval\)/,
    );
    // The controls: the same keys where auto turns the probe on, or where the mode is only known at run time.
    expect(check('checkpoint: { mode: delta }\nprobe: { max_period: 50ms }').ok).toBe(true);
    expect(check('policy: { kind: threshold }\nprobe: { defer: false }').ok).toBe(true);
    expect(check('checkpoint: { mode: auto }\nprobe: { max_period: 50ms }').ok).toBe(true);
  });
});
