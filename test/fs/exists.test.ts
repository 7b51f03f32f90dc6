import { chmod, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exists, isExecutable } from '../../src/fs/exists.js';

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'remusd-exists-'));
  await writeFile(join(dir, 'file'), 'x');
  await writeFile(join(dir, 'program'), '#!/bin/sh\n');
  await chmod(join(dir, 'program'), 0o755);
  await symlink('file', join(dir, 'link'));
  await symlink('gone', join(dir, 'dangling'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('exists', () => {
  // [entry, with links followed, the link itself]
  it.each([
    ['file', true, true],
    ['link', true, true],
    ['dangling', false, true],
    ['missing', false, false],
    ['file/below-a-file', false, false],
  ])('%s: follow-links %s, link-itself %s', async (name, followed, itself) => {
    expect(await exists(join(dir, name), 'follow-links')).toBe(followed);
    expect(await exists(join(dir, name), 'link-itself')).toBe(itself);
  });
});

describe('isExecutable', () => {
  it('is true for a file with an execute bit, false for one without, a dangling link or nothing', async () => {
    expect(await isExecutable(join(dir, 'program'))).toBe(true);
    expect(await isExecutable(join(dir, 'file'))).toBe(false);
    expect(await isExecutable(join(dir, 'dangling'))).toBe(false);
    expect(await isExecutable(join(dir, 'missing'))).toBe(false);
  });
});
