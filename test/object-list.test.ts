// objectList's arrays are arrays of objects to V8 from the start (src/object-list.ts says why), checked with
// V8's own predicates: natives syntax, allowed for functions compiled after the flag is set.
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { dropPrefix, objectList, truncate } from '../src/object-list.js';

setFlagsFromString('--allow-natives-syntax');
// Functions made from source text: tsc and the linter never see the % syntax (typed by hand, checked here).
const hasSmiElements = new Function('a', 'return %HasSmiElements(a)') as (a: unknown[]) => boolean;
const hasObjectElements = new Function('a', 'return %HasObjectElements(a)') as (a: unknown[]) => boolean;

describe('objectList', () => {
  it('makes an empty array of objects, where a literal [] is one of small integers (the negative control)', () => {
    const literal: object[] = [];
    expect(hasSmiElements(literal)).toBe(true);
    const list = objectList<{ seq: number }>();
    expect(list).toEqual([]);
    expect(hasSmiElements(list)).toBe(false);
    expect(hasObjectElements(list)).toBe(true);
  });

  it('copies the items given, in order, into a new array', () => {
    const items = [{ seq: 1 }, { seq: 2 }];
    const list = objectList(items);
    expect(list).toEqual(items);
    expect(list).not.toBe(items);
    list.push({ seq: 3 });
    expect(items).toHaveLength(2);
    expect(hasObjectElements(list)).toBe(true);
  });
});

describe('truncate', () => {
  it('cuts a list to its first n items, in place, keeping its elements kind', () => {
    const items = [{ seq: 1 }, { seq: 2 }, { seq: 3 }, { seq: 4 }];
    const list = objectList(items);
    truncate(list, 2);
    expect(list).toEqual([{ seq: 1 }, { seq: 2 }]);
    truncate(list, 2);
    expect(list).toHaveLength(2);
    truncate(list, 0);
    expect(list).toEqual([]);
    expect(hasObjectElements(list)).toBe(true);
  });
});

describe('dropPrefix', () => {
  const a = { seq: 1 };
  const b = { seq: 2 };
  const c = { seq: 3 };

  it('removes the list’s first entries when given them, the same objects in order', () => {
    const list = objectList([a, b, c]);
    expect(dropPrefix(list, [a, b])).toBe(true);
    expect(list).toEqual([c]);
    expect(list[0]).toBe(c);
    expect(dropPrefix(list, [])).toBe(true);
    expect(list).toHaveLength(1);
  });

  it('changes nothing for entries that are not its prefix: another order, equal copies, too many (negative control)', () => {
    const list = objectList([a, b, c]);
    expect(dropPrefix(list, [b, a])).toBe(false);
    expect(dropPrefix(list, [{ seq: 1 }])).toBe(false);
    expect(dropPrefix(list, [a, b, c, { seq: 4 }])).toBe(false);
    expect(dropPrefix(list, [b])).toBe(false);
    expect(list).toEqual([a, b, c]);
  });
});
