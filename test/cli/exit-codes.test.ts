import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/cli/exit-codes.js';
import { packageRoot } from '../../src/paths.js';

describe('exit statuses', () => {
  it("the README's table lists exactly the statuses of src/cli/exit-codes.ts", async () => {
    const readme = await readFile(join(packageRoot(), 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('Exit statuses, the same for every command'));
    const table = section.slice(0, section.indexOf('\n\n', section.indexOf('| status |')));
    const documented = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(documented).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
