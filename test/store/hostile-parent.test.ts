import { randomBytes } from 'node:crypto';
import { cp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DurableChains } from '../../src/fs/durable-chain.js';
import { COMPLETE, scanCheckpoints } from '../../src/store/checkpoints.js';
import { readLocalCheckpoint } from '../../src/store/manifest.js';
import { runCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { unwrittenPagesProbe } from '../helpers/dirty-pages.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';
import { shipOnce } from '../../src/replicate/sender.js';
import { collectingLog, takeCheckpoints, testPair, writeRunConfig } from '../replicate/helpers.js';

// A copied store (or a backup directory) is not trusted: a checkpoint's `parent -> ../../outside/00000001`
// must be refused before anything reads or syncs through it. Before, the store's scan and the shipper took
// the link's last component (00000001, as if it were the sibling), the durable-chain walk fsynced every file
// of the directory outside, `remusd stats` printed it as the parent, and `remusd run` continued the chain on it.
// Real CRIU delta checkpoints of a live workload; then the copy's 00000002 is pointed outside.

let workload: TestWorkload;
let root = '';
let copy = '';
let outsideFile = '';
const link = () => join(copy, '00000002', 'parent');
const refusal = () =>
  `${link()} points at "../../outside/00000001": a parent must be ../NAME, a directory beside this one`;

beforeAll(async () => {
  workload = await startWorkload(['--mib', '8', '--phases', '500:1000000', '--report-ms', '50']);
  root = await imagesDir('remusd-hostile-parent-');
  expect(await takeCheckpoints(root, workload.pid, 'delta', 2)).toBe('00000002');
  // The copy: ROOT/copy/images, with 00000002's parent at ROOT/copy/outside/00000001 instead of beside it.
  copy = join(root, 'copy', 'images');
  await cp(join(root, 'images'), copy, { recursive: true, verbatimSymlinks: true });
  await cp(join(copy, '00000001'), join(root, 'copy', 'outside', '00000001'), { recursive: true });
  await rm(link());
  await symlink('../../outside/00000001', link());
  // Written a moment ago and not synced: unwritten pages a walk through the link would sync.
  outsideFile = join(root, 'copy', 'outside', '00000001', 'pages-9.img');
  await writeFile(outsideFile, randomBytes(1 << 20));
}, 120_000);
afterAll(() => workload?.stop());

describe('a parent link out of the store is refused before anything reads through it', () => {
  it("the store's scan (retention, chains) names the link", () => {
    expect(() => scanCheckpoints(copy)).toThrow(refusal());
  });

  it('the shipper does not offer it with parent 00000001', async () => {
    await expect(readLocalCheckpoint(copy, '00000002')).rejects.toThrow(refusal());
  });

  it('making the chain durable (output commit) syncs nothing outside', async () => {
    const unwritten = await unwrittenPagesProbe();
    await expect(new DurableChains().sync(copy, join(copy, '00000002'))).rejects.toThrow(refusal());
    expect(unwritten([outsideFile])[0], 'the file outside was not fsynced').toBeGreaterThan(0);
  });

  it('remusd stats: exit 1 with the link named, not a parent shown', async () => {
    const result = await runCli(['stats', join(copy, '00000002'), '--json']);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(refusal());
  });

  it('remusd run on the copy: refused at the start, the workload untouched', async () => {
    const config = await writeRunConfig(join(root, 'copy'), 'delta');
    const before = (await workload.read()).progress.length;
    const run = await runCli(['run', '--config', config, '--pid', String(workload.pid), '--max-checkpoints', '1']);
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stderr).toContain(refusal());
    expect((await readdir(copy)).filter((name) => COMPLETE.test(name)).sort(), 'no checkpoint taken').toEqual([
      '00000001',
      '00000002',
    ]);
    await workload.waitForProgress(2); // still running, not frozen
    expect((await workload.read()).progress.length).toBeGreaterThan(before);
  });
});

describe('a latest link out of the store', () => {
  it('the shipper refuses it, naming it, before it reads or connects', async () => {
    const latest = join(copy, 'latest');
    await rm(latest);
    await symlink('../outside/00000001', latest);
    // Port 9 (discard) on loopback: nothing listens, so a shipper that got as far as connecting fails otherwise.
    await expect(
      shipOnce({
        images: copy,
        log: collectingLog(),
        to: { host: '127.0.0.1', port: 9 },
        credentials: (await testPair()).primary,
        connectTimeoutMs: 1_000,
      }),
    ).rejects.toThrow(`${latest} points at "../outside/00000001": expected NNNNNNNN, a checkpoint beside it`);
  });
});
