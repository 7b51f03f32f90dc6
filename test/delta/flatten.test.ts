// flattenChain on synthetic delta chains (rewriteAsDelta's own output): the flattened link restores, through
// the model of CRIU's parent page reads, to exactly what the chain restored, and keeps nothing in a parent.
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PE_LAZY, PE_PARENT, PE_PRESENT } from '../../src/criu/images/index.js';
import { flattenChain } from '../../src/delta/flatten.js';
import { rewriteAsDelta, type RewriteResult } from '../../src/delta/index.js';
import { PAGE, entriesOf, restoredMemory, writeDump, type SynthProcess } from './synthetic.js';

const BASE = 0x7f12_3400_0000;

// Generation g of a process: pages 0..n-1 of one mapping, page i's content seed changed in the generations
// listed for it (so each generation changes a few pages, like a dirtier between two checkpoints).
function generation(pid: number, pages: number, g: number, changes: number[][]): SynthProcess {
  const seeds = Array.from(
    { length: pages },
    (_, i) => 1000 * i + changes.slice(0, g + 1).filter((c) => c.includes(i)).length,
  );
  return { pid, pagesId: 1, entries: [{ vaddr: BASE, flags: PE_PRESENT | PE_LAZY, seeds }] };
}

describe('flattenChain', () => {
  it('restores exactly what the chain restores, with no page left in a parent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 24 }),
        fc.array(fc.array(fc.nat(23), { maxLength: 6 }), { minLength: 2, maxLength: 6 }),
        fc.nat(5),
        async (pages, changes, pick) => {
          const root = await mkdtemp(join(tmpdir(), 'remusd-flatten-'));
          try {
            let previous: { name: string; result: RewriteResult } | undefined;
            const names: string[] = [];
            for (let g = 0; g < changes.length; g++) {
              const name = String(g + 1).padStart(8, '0');
              await writeDump(join(root, name), [generation(7, pages, g, changes)]);
              const result = await rewriteAsDelta({
                dir: join(root, name),
                name,
                parentName: previous?.name,
                previous: previous?.result.hashes,
              });
              previous = { name, result };
              names.push(name);
            }
            // Flatten link `target` (not the first) of the chain 1 ← 2 ← …
            const target = 1 + (pick % (names.length - 1));
            const chain = names
              .slice(0, target + 1)
              .reverse()
              .map((n) => join(root, n));
            const out = join(root, 'flat');
            await mkdir(out);
            const files = (await readdir(chain[0]!)).filter((f) => f.endsWith('.img'));
            const flat = await flattenChain({ chain, out, files, pageSize: PAGE, chunkBytes: 3 * PAGE });
            expect(flat.pages).toBe(pages);
            expect((await entriesOf(out, 7)).some(([, , flags]) => (flags & PE_PARENT) !== 0)).toBe(false);
            const want = await restoredMemory(chain[0]!, 7);
            const got = await restoredMemory(out, 7);
            expect([...got.keys()]).toEqual([...want.keys()]);
            for (const [vaddr, page] of want) expect(got.get(vaddr)!.equals(page)).toBe(true);
          } finally {
            await rm(root, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
