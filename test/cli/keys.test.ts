import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JSON_OUTPUTS } from '../../src/cli/json-schemas.js';
import { loadCredentials } from '../../src/replicate/tls/files.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';

// `remusd keys init` and the checks ship and backup make on --keys before they touch the network.

describe('remusd keys init', () => {
  it('writes a pair: private keys 0600 in 0700 directories, each side loadable, and refuses to overwrite', async () => {
    const dir = join(await imagesDir('remusd-keys-'), 'pair');
    const made = await runCli(['keys', 'init', dir, '--json']);
    expect(made.exitCode, made.stderr).toBe(0);
    const out = JSON_OUTPUTS['keys init'].parse(JSON.parse(made.stdout));
    expect(out.primary).toBe(join(dir, 'primary'));
    expect(await readdir(join(dir, 'primary'))).toEqual(['ca.crt', 'primary.crt', 'primary.key']);
    expect(await readdir(join(dir, 'backup'))).toEqual(['backup.crt', 'backup.key', 'ca.crt']);
    for (const side of ['primary', 'backup'] as const) {
      expect((await stat(join(dir, side, `${side}.key`))).mode & 0o777).toBe(0o600);
      expect((await stat(join(dir, side))).mode & 0o777).toBe(0o700);
      expect(loadCredentials(join(dir, side), side).pairId).toBe(out.pair);
    }
    const again = await runCli(['keys', 'init', dir]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/is not empty: refusing to overwrite key material/);
  });

  it("ship and backup refuse to run without keys, with a readable private key, or with the other side's keys", async () => {
    const root = await imagesDir('remusd-keys-');
    const dir = join(root, 'pair');
    expect((await runCli(['keys', 'init', dir])).exitCode).toBe(0);
    const images = join(root, 'images');

    const none = await runCli(['ship', '--images', images, '--to', '127.0.0.1:1']);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/give --keys: the primary directory made by `remusd keys init DIR`/);

    const swapped = await runCli([
      'backup',
      '--dir',
      join(root, 'b'),
      '--listen',
      '127.0.0.1:0',
      '--keys',
      join(dir, 'primary'),
    ]);
    expect(swapped.exitCode).toBe(2);
    expect(swapped.stderr).toMatch(/holds the primary's key material, and this is the backup/);

    await chmod(join(dir, 'primary', 'primary.key'), 0o640);
    const readable = await runCli([
      'ship',
      '--images',
      images,
      '--to',
      '127.0.0.1:1',
      '--keys',
      join(dir, 'primary'),
      '--once',
    ]);
    expect(readable.exitCode).toBe(2);
    expect(readable.stderr).toContain(
      `${join(dir, 'primary', 'primary.key')} is readable or writable by group or others (mode 0640): run chmod 600`,
    );
  });
});
