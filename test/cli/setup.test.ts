// The README's set-up (scripts/setup.sh, run by both README commands): `remusd` on PATH afterwards, and
// nothing on stdout, so that `bash scripts/demo.sh --json | jq` works on the first run too.
import { readlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/paths.js';
import { imagesDir } from '../helpers/criu.js';

describe('scripts/setup.sh', () => {
  it('puts remusd on PATH and writes nothing on stdout, even when it rebuilds', async () => {
    const binDir = await imagesDir('remusd-bin-');
    const root = packageRoot();
    // A source newer than the build: setup rebuilds, and the build's output must not reach stdout.
    const now = new Date();
    await utimes(join(root, 'src', 'cli', 'main.ts'), now, now);
    const setup = await execa('bash', ['scripts/setup.sh'], {
      cwd: root,
      env: { REMUSD_BIN_DIR: binDir },
      reject: false,
      timeout: 300_000,
    });
    expect(setup.exitCode, setup.stderr).toBe(0);
    expect(setup.stdout).toBe('');
    expect(setup.stderr).toContain('setup: building');
    expect(await readlink(join(binDir, 'remusd'))).toBe(join(root, 'dist', 'cli', 'main.js'));
    const onPath = await execa('remusd', ['--version'], { env: { PATH: `${binDir}:${process.env.PATH}` } });
    expect(onPath.stdout).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
