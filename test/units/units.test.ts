import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, formatMs, formatSize, parseDuration, parseSize } from '../../src/units/units.js';

const ok = (value: number) => ({ ok: true, value });

describe('parseSize', () => {
  it.each([
    ['16MiB', 16 * 2 ** 20],
    ['16 MiB', 16 * 2 ** 20],
    ['16mib', 16 * 2 ** 20],
    ['512KiB', 512 * 1024],
    ['1GiB', 2 ** 30],
    ['1.5GiB', 1.5 * 2 ** 30],
    ['2TiB', 2 * 2 ** 40],
    ['4096', 4096],
    ['4096B', 4096],
    [' 7 B ', 7],
    [4096, 4096],
    [0, 0],
  ] as const)('%j is %i bytes', (input, bytes) => {
    expect(parseSize(input)).toEqual(ok(bytes));
  });

  it('refuses decimal-looking units with a hint at both readings', () => {
    const result = parseSize('16 MB');
    expect(result).toEqual({
      ok: false,
      error:
        'is not a size; use a number of bytes or units B, KiB, MiB, GiB, TiB (e.g. 16MiB): ' +
        '"MB" is ambiguous (10^n or 2^n bytes), write 16MiB or 16000000',
    });
    for (const input of ['1K', '1kb', '2G', '2GB', '3M', '1T', '1TB']) expect(parseSize(input).ok).toBe(false);
  });

  it('refuses what is not a whole, non-negative number of bytes', () => {
    expect(parseSize('0.3KiB')).toMatchObject({
      ok: false,
      error: expect.stringContaining('307.2 bytes, not a whole number'),
    });
    expect(parseSize(1.5)).toMatchObject({ ok: false });
    expect(parseSize(-1)).toEqual({ ok: false, error: 'is negative; a size is 0 or more bytes' });
    for (const input of ['', 'MiB', '16 MiBs', '1e6', '-5MiB', '16 M iB', true, null, {}, [], Number.NaN, Infinity]) {
      expect(parseSize(input).ok).toBe(false);
    }
  });
});

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['200 ms', 200],
    ['1.5s', 1500],
    ['2m', 120_000],
    ['2min', 120_000],
    ['1h', 3_600_000],
    ['250', 250],
    ['0.5ms', 0.5],
    [500, 500],
  ] as const)('%j is %d ms', (input, ms) => {
    expect(parseDuration(input)).toEqual(ok(ms));
  });

  it('refuses unknown units and negative or non-numeric values', () => {
    expect(parseDuration('200us')).toEqual({
      ok: false,
      error: 'is not a duration; use a number of milliseconds or units ms, s, m, h (e.g. 200ms, 1.5s, 2m)',
    });
    for (const input of ['2S', '1d', 's', '', '-1s', -5, Number.NaN, false, null, ['1s']]) {
      expect(parseDuration(input).ok).toBe(false);
    }
  });
});

describe('formatting', () => {
  it('formats bytes for people', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1024)).toBe('1.0 KiB');
    expect(formatBytes(12 * 2 ** 20)).toBe('12.0 MiB');
    expect(formatBytes(2 ** 20 - 1)).toBe('1.0 MiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.0 GiB');
  });

  it('formats milliseconds for people', () => {
    expect(formatMs(200)).toBe('200 ms');
    expect(formatMs(133.33)).toBe('133 ms');
    expect(formatMs(0.5)).toBe('0.5 ms');
    expect(formatMs(999.6)).toBe('1.00 s');
    expect(formatMs(1500)).toBe('1.50 s');
  });

  it('formats sizes and durations in the exact config form', () => {
    expect(formatSize(16 * 2 ** 20)).toBe('16MiB');
    expect(formatSize(1536 * 1024)).toBe('1536KiB');
    expect(formatSize(4097)).toBe('4097');
    expect(formatDuration(120_000)).toBe('2m');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(3000)).toBe('3s');
  });
});

describe('round trips (properties)', () => {
  const bytes = fc.oneof(
    fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    fc
      .tuple(fc.integer({ min: 0, max: 8191 }), fc.constantFrom(2 ** 10, 2 ** 20, 2 ** 30, 2 ** 40))
      .map(([n, u]) => n * u),
  );

  it('parseSize(formatSize(b)) = b', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        expect(parseSize(formatSize(b))).toEqual(ok(b));
      }),
    );
  });

  it('parseDuration(formatDuration(ms)) = ms', () => {
    const ms = fc.oneof(
      fc.integer({ min: 0, max: 10 ** 12 }),
      fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.constantFrom(1000, 60_000, 3_600_000)).map(([n, u]) => n * u),
    );
    fc.assert(
      fc.property(ms, (m) => {
        expect(parseDuration(formatDuration(m))).toEqual(ok(m));
      }),
    );
  });

  it('formatBytes stays within 5 % of the value', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1024, max: 2 ** 50 }), (b) => {
        const text = formatBytes(b);
        const [amount, unit] = text.split(' ');
        const back =
          Number(amount) * { KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50 }[unit as 'KiB']!;
        expect(Math.abs(back - b) / b).toBeLessThan(0.05);
      }),
    );
  });

  it('every size written as number + unit parses to number × unit', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000 }),
        fc.constantFrom(['B', 1], ['KiB', 2 ** 10], ['MiB', 2 ** 20], ['GiB', 2 ** 30]) as fc.Arbitrary<
          [string, number]
        >,
        fc.constantFrom('', ' '),
        (n, [unit, scale], space) => {
          expect(parseSize(`${n}${space}${unit}`)).toEqual(ok(n * scale));
        },
      ),
    );
  });
});
