// One real CRIU dump of a sleeping process, decoded with our codecs, byte for byte. No skip: without root or
// CRIU this test fails with the fix (test/helpers/criu.ts), like every other real-CRIU test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dump as criuDump } from '../../../src/criu/dump.js';
import { criuLogTail } from '../../../src/criu/exec.js';
import {
  CRIU_IMAGES_V1_1,
  decodeInventory,
  encodeInventory,
  readInventoryFile,
} from '../../../src/criu/images/inventory.js';
import {
  PE_PRESENT,
  decodePagemap,
  encodePagemap,
  listPagemapFiles,
  presentPages,
  readPagemapFile,
} from '../../../src/criu/images/pagemap.js';
import { encodeDumpStats, readStatsDir } from '../../../src/criu/images/stats.js';
import { pageSize } from '../../../src/criu/probe.js';
import { imagesDir, testCriu } from '../../helpers/criu.js';
import { killAndWait } from '../../helpers/workload.js';

let sleeper: ChildProcess | undefined;

afterAll(async () => {
  if (sleeper?.pid !== undefined) await killAndWait(sleeper.pid);
});

describe('a real CRIU dump', () => {
  it('decodes stats-dump, pagemap and inventory, and they agree with pages-*.img', async () => {
    // detached: the child calls setsid(), so it is the session leader CRIU wants; no terminal on its stdio.
    const criu = await testCriu();
    const PAGE = await pageSize();
    sleeper = spawn('sleep', ['1000'], { detached: true, stdio: 'ignore' });
    const pid = sleeper.pid!;
    const dir = await imagesDir('remusd-criu-img-');
    const run = await criuDump(criu, { kind: 'full', pid, imagesDir: dir });
    expect(run.exitCode, await criuLogTail(run.logFile)).toBe(0);

    const { dump, restore } = await readStatsDir(dir);
    expect(restore).toBeUndefined();
    expect(dump).toBeDefined();
    const stats = dump!;
    expect(stats.pages_written).toBeGreaterThan(0);
    expect(stats.pages_scanned).toBeGreaterThanOrEqual(stats.pages_written);
    expect(stats.frozen_time).toBeGreaterThan(0);
    // CRIU writes every dump field, optional ones included; re-encoding gives its bytes back.
    expect([...encodeDumpStats(stats)]).toEqual([...(await readFile(join(dir, 'stats-dump')))]);

    const pagemaps = await listPagemapFiles(dir);
    expect(pagemaps.map((p) => p.pid)).toEqual([pid]);
    let present = 0;
    const pagesIds = new Set<number>();
    for (const file of pagemaps) {
      const pagemap = await readPagemapFile(file.path);
      present += presentPages(pagemap);
      pagesIds.add(pagemap.pagesId);
      expect(pagemap.entries.every((e) => e.vaddr % PAGE === 0 && (e.flags & PE_PRESENT) !== 0)).toBe(true);
      // What remusd's software deltas rely on: our 4.1 encoding is byte for byte what CRIU wrote.
      const raw = await readFile(file.path);
      expect([...encodePagemap(decodePagemap(raw, file.path))]).toEqual([...raw]);
    }
    expect(present).toBe(stats.pages_written);

    let pagesBytes = 0;
    for (const name of await readdir(dir)) {
      if (/^pages-\d+\.img$/.test(name)) pagesBytes += (await stat(join(dir, name))).size;
    }
    expect([...pagesIds].every((id) => existsSync(join(dir, `pages-${id}.img`)))).toBe(true);
    expect(pagesBytes).toBe(stats.pages_written * PAGE);

    const inventory = await readInventoryFile(join(dir, 'inventory.img'));
    expect(inventory.imgVersion).toBe(CRIU_IMAGES_V1_1);
    const raw = await readFile(join(dir, 'inventory.img'));
    expect(decodeInventory(encodeInventory(inventory), 'again')).toEqual(inventory);
    expect([...encodeInventory(inventory)]).toEqual([...raw]);
  });
});
