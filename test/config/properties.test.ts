// Properties of validation over generated configs: what is written comes back normalized, and any
// unknown key anywhere is reported at its path.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { formatDuration, formatSize } from '../../src/config/units.js';

const sizes = fc.integer({ min: 0, max: 2 ** 40 });
const orderedPair = <T>(arb: fc.Arbitrary<number>, map: (n: number) => T) =>
  fc.tuple(arb, arb).map(([a, b]) => [map(Math.min(a, b)), map(Math.max(a, b))] as const);

const validRaw = fc.record({
  thresholds: orderedPair(sizes, (n) => n),
  interval: fc
    .array(fc.integer({ min: 1, max: 10 ** 7 }), { minLength: 3, maxLength: 3 })
    .map((xs) => xs.sort((a, b) => a - b)),
  sizeAsText: fc.boolean(),
  durationAsText: fc.boolean(),
});

describe('validateConfig over generated configs', () => {
  it('gives back the sizes and durations written, as text or as numbers', () => {
    fc.assert(
      fc.property(
        validRaw,
        ({ thresholds: [lmin, lmax], interval: [min, initial, max], sizeAsText, durationAsText }) => {
          const size = (n: number) => (sizeAsText ? formatSize(n) : n);
          const duration = (n: number) => (durationAsText ? formatDuration(n) : n);
          const raw = {
            thresholds: { lmin: size(lmin), lmax: size(lmax) },
            interval: { min: duration(min!), initial: duration(initial!), max: duration(max!) },
          };
          const result = validateConfig(raw, 'generated', '/');
          expect(result.ok).toBe(true);
          if (!result.ok) return;
          expect(result.config.thresholds).toEqual({ lminBytes: lmin, lmaxBytes: lmax });
          expect(result.config.interval).toEqual({ initialMs: initial, minMs: min, maxMs: max });
        },
      ),
    );
  });

  it('reports an unknown key at any level at its exact path', () => {
    const sections = ['thresholds', 'interval', 'policy', 'checkpoint', 'criu', 'failures', 'records', 'metrics'];
    const where = fc.oneof(
      fc.constant<string[]>([]),
      fc.constantFrom(...sections).map((s) => [s]),
      fc.constant(['checkpoint', 'retention']),
    );
    const known = new Set([
      ...sections,
      ...['lmin', 'lmax', 'initial', 'min', 'max', 'kind', 'shrink', 'grow', 'window', 'change', 'deadband', 'target'],
      ...['mode', 'dir', 'retention', 'keep', 'new_chain_every', 'max_chain_bytes', 'path'],
      ...['extra_args', 'log_level', 'max_consecutive', 'backoff_initial', 'backoff_max', 'file', 'listen'],
      'allow_remote',
    ]);
    const key = fc.stringMatching(/^[a-z][a-z_]{0,12}$/).filter((k) => !known.has(k));
    fc.assert(
      fc.property(where, key, (path, unknown) => {
        const raw: Record<string, unknown> = {};
        let here = raw;
        for (const part of path) {
          const inner: Record<string, unknown> = {};
          here[part] = inner;
          here = inner;
        }
        here[unknown] = 1;
        const result = validateConfig(raw, 'generated', '/');
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expect(result.errors.map((e) => e.path)).toEqual([[...path, unknown].join('.')]);
        expect(result.errors[0]?.message).toMatch(/^is not a known key; allowed /);
      }),
    );
  });
});
