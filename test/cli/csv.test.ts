// --csv output (src/cli/csv.ts): RFC 4180, read back with an independent parser (csv-parse).

import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { csvText } from '../../src/cli/csv.js';

describe('csvText', () => {
  it('quotes what needs quoting and round-trips through a CSV parser', () => {
    const awkward = ['a,b', 'say "hi"', 'two\nlines', 'crlf\r\nline', ' padded ', ''];
    const text = csvText({ columns: ['name', 'value'], rows: awkward.map((name, i) => [name, i]) });
    expect(text.startsWith('name,value\r\n')).toBe(true);
    expect(text).toContain('"a,b",0\r\n');
    expect(text).toContain('"say ""hi""",1\r\n');
    const rows = parse(text, { columns: true, relax_quotes: false }) as { name: string; value: string }[];
    expect(rows.map((r) => r.name)).toEqual(awkward);
    expect(rows.map((r) => Number(r.value))).toEqual(awkward.map((_, i) => i));
  });

  it('numbers unrounded; NaN, null and undefined empty; booleans true/false', () => {
    const text = csvText({
      columns: ['a', 'b', 'c', 'd', 'e', 'f'],
      rows: [[0.1 + 0.2, Number.NaN, null, undefined, true, false]],
    });
    const [row] = parse(text, { columns: true }) as Record<string, string>[];
    expect(Number(row!.a)).toBe(0.1 + 0.2);
    expect([row!.b, row!.c, row!.d, row!.e, row!.f]).toEqual(['', '', '', 'true', 'false']);
  });

  it('a row of the wrong width is a bug, not a silently shifted column', () => {
    expect(() => csvText({ columns: ['a', 'b'], rows: [[1]] })).toThrow(/CSV row of 1 cells for 2 columns/);
  });
});
