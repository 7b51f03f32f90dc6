import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ParentLinkError, readParentLink, readParentLinkSync, siblingOf } from '../../src/fs/parent-link.js';

describe('siblingOf: what a parent link may name', () => {
  it.each(['../00000012', '../a', `../${'n'.repeat(255)}`, '../.00000013.partial', '../..a'])('%s', (target) => {
    expect(siblingOf('/store/00000013', target)).toBe(target.slice(3));
  });

  it.each([
    ['../../elsewhere', 'a directory beside this one'],
    ['../../runs/other/00000005', 'a directory beside this one'],
    ['/var/lib/other/00000005', 'a directory beside this one'],
    ['00000012', 'a directory beside this one'],
    ['./00000012', 'a directory beside this one'],
    ['..', 'a directory beside this one'],
    ['../', 'a directory beside this one'],
    ['../..', 'a directory beside this one'],
    ['../.', 'a directory beside this one'],
    ['../00000012/', 'a directory beside this one'],
    [`../${'n'.repeat(256)}`, 'at most 255 characters'],
  ])('%s is refused', (target, why) => {
    const refusal = (() => {
      try {
        siblingOf('/store/00000013', target);
      } catch (error) {
        return error;
      }
    })();
    expect(refusal).toBeInstanceOf(ParentLinkError);
    expect(String(refusal)).toContain(`/store/00000013/parent points at "${target.slice(0, 300)}`);
    expect(String(refusal)).toContain(why);
  });

  it('a huge target is quoted cut short', () => {
    expect(() => siblingOf('/d', `/${'x'.repeat(4000)}`)).toThrow(/points at "\/x{299}…"/);
  });
});

describe('readParentLink', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'remusd-parent-link-'));
    for (const name of ['full', 'delta', 'escapes', 'plain-file']) await mkdir(join(dir, name));
    await symlink('../full', join(dir, 'delta', 'parent'));
    await symlink('../../etc', join(dir, 'escapes', 'parent'));
    await writeFile(join(dir, 'plain-file', 'parent'), '../full');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.each([
    ['full', undefined],
    ['delta', 'full'],
  ])('%s: %s', async (name, parent) => {
    expect(await readParentLink(join(dir, name))).toBe(parent);
    expect(readParentLinkSync(join(dir, name))).toBe(parent);
  });

  it.each([
    ['escapes', 'parent points at "../../etc"'],
    ['plain-file', 'parent is not a symbolic link'],
  ])('%s: refused', async (name, message) => {
    await expect(readParentLink(join(dir, name))).rejects.toThrow(`${join(dir, name)}/${message}`);
    expect(() => readParentLinkSync(join(dir, name))).toThrow(`${join(dir, name)}/${message}`);
  });
});
