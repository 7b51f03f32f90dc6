import { randomBytes } from 'node:crypto';
import { mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imagesDir } from '../helpers/criu.js';
import { unwrittenPagesProbe } from '../helpers/dirty-pages.js';
import { waitFor } from '../helpers/wait.js';
import { setUpDegrade } from './degrade-setup.js';

// A degraded release (output_commit.degrade_after) lets output out on the strength of the local disk alone,
// so everything the released checkpoint restores from must be on disk first: with delta checkpoints that is
// its whole parent chain, written while acks were awaited and never fsynced. Measured from the outside: at
// the moment the gate is asked to release, the kernel (cachestat) must hold no page of any link's files that
// is not yet written to disk.

const name = (seq: number) => String(seq).padStart(8, '0');

/** ROOT/0000000N with a pages and a pagemap image, its parent link to N-1 as a delta has; written, not fsynced. */
async function writeLink(root: string, seq: number): Promise<string[]> {
  const dir = join(root, name(seq));
  await mkdir(dir);
  const files = [join(dir, 'pages-1.img'), join(dir, 'pagemap-1.img')];
  await writeFile(files[0]!, randomBytes(1 << 20));
  await writeFile(files[1]!, randomBytes(4096));
  if (seq > 1) await symlink(`../${name(seq - 1)}`, join(dir, 'parent'));
  return files;
}

describe('a degraded release makes the whole delta chain durable first', () => {
  it('no page of any link of the chain (the parents included) is unwritten when the gate releases', async () => {
    const unwritten = await unwrittenPagesProbe();
    const root = await imagesDir();
    const chain: string[] = [];
    for (const seq of [1, 2, 3]) chain.push(...(await writeLink(root, seq)));
    // Written a moment ago, so the kernel still holds them unwritten (dirty_expire is 30 s); without that this
    // test could not tell a synced chain from one the kernel happened to write back by itself.
    expect(
      unwritten(chain).every((pages) => pages > 0),
      'every file starts with unwritten pages',
    ).toBe(true);
    const atRelease = new Map<number, number[]>();
    const { output, settle, advance } = setUpDegrade(true, (epoch) => atRelease.set(epoch, unwritten(chain)));
    for (const seq of [1, 2, 3]) {
      await output.beforeDump(seq);
      if (seq === 3) advance(1000); // no ack for degrade_after: checkpoint 3 goes out on local fsync
      await output.afterCheckpoint(seq, root, join(root, name(seq)));
    }
    const released = await waitFor('the degraded release of 00000003', () => atRelease.get(3), 10_000);
    await settle();
    const byFile = (pages: (i: number) => number | undefined) =>
      Object.fromEntries(chain.map((file, i) => [file.slice(root.length + 1), pages(i)]));
    expect(
      byFile((i) => released[i]),
      'pages not on disk when the output of 00000003 was released',
    ).toEqual(byFile(() => 0));
    expect(output.releasedThrough).toBe(3);

    // Cheap: the links made durable are remembered, and the next release syncs only what is new. A page of
    // 00000001 written again after its fsync (the directory itself unchanged) is left to the kernel.
    const old = chain[0]!;
    // Rewritten in place: a truncate-and-write would make ext4 (auto_da_alloc) write it out at the next
    // journal commit, which any fsync triggers.
    const handle = await open(old, 'r+');
    await handle.write(randomBytes(1 << 20), 0, 1 << 20, 0);
    await handle.close();
    const next = await writeLink(root, 4);
    chain.push(...next);
    await output.beforeDump(4);
    await output.afterCheckpoint(4, root, join(root, name(4)));
    const again = await waitFor('the degraded release of 00000004', () => atRelease.get(4), 10_000);
    expect(again.slice(-2), '00000004 itself is on disk').toEqual([0, 0]);
    expect(
      again[0],
      '00000001 was not synced again (its pages written after its fsync are still unwritten)',
    ).toBeGreaterThan(0);
  });
});
