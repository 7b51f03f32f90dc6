// flushAndDropCache on a real file: its pages leave the page cache (fincore counts them), and a file that is
// only written stays cached (the control: without the drop, a chain start's image stayed resident).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { flushAndDropCache } from '../../src/fs/page-cache.js';
import { residentPages } from '../helpers/page-cache.js';
import { scratchDirSync } from '../helpers/scratch.js';

describe('flushAndDropCache', () => {
  it('flushes a freshly written file and drops its pages from the page cache', async () => {
    const dir = scratchDirSync('remusd-page-cache-');
    const [kept, dropped] = [join(dir, 'kept.img'), join(dir, 'dropped.img')];
    const bytes = Buffer.alloc(8 * 2 ** 20, 7);
    writeFileSync(kept, bytes);
    writeFileSync(dropped, bytes);
    expect(residentPages(kept)).toBe(2048);
    await flushAndDropCache([dropped]);
    expect(residentPages(dropped)).toBe(0);
    expect(residentPages(kept)).toBe(2048);
  });

  it('says which file it could not handle', async () => {
    await expect(flushAndDropCache(['/nonexistent-dir/pages-1.img'])).rejects.toThrow(
      /\/nonexistent-dir\/pages-1\.img/,
    );
  });
});
