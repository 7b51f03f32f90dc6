import { rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConfigResult } from '../../src/config/load.js';
import { watchConfig } from '../../src/config/watch.js';
import { useTempDir } from './helpers.js';

const MiB = 2 ** 20;
const POLL_MS = 50;

// Collects what the watcher hands over; next() waits for the next result.
function collector() {
  const results: ConfigResult[] = [];
  const waiting: ((r: ConfigResult) => void)[] = [];
  return {
    results,
    onChange(result: ConfigResult) {
      const waiter = waiting.shift();
      if (waiter) waiter(result);
      else results.push(result);
    },
    next(timeoutMs = 5000): Promise<ConfigResult> {
      const ready = results.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no config change seen')), timeoutMs);
        waiting.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    },
  };
}

// Sleep past one poll and past the file system's mtime granularity.
const settle = () => new Promise((resolve) => setTimeout(resolve, POLL_MS * 3));

describe('watchConfig', () => {
  const tempDir = useTempDir();

  it('hands over the new config when the file changes, and an error result for an invalid one', async () => {
    const path = join(await tempDir(), 'remusd.yaml');
    await writeFile(path, 'thresholds:\n  lmax: 8MiB\n');
    const seen = collector();
    const watcher = watchConfig(path, seen.onChange, { intervalMs: POLL_MS });
    try {
      await settle();
      await writeFile(path, 'thresholds:\n  lmax: 32MiB\n');
      const changed = await seen.next();
      expect(changed.ok && changed.config.thresholds.lmaxBytes).toBe(32 * MiB);

      await settle();
      await writeFile(path, 'thresholds:\n  lmax: 32 MB\n');
      const broken = await seen.next();
      expect(broken.ok).toBe(false);
      if (!broken.ok) expect(broken.errors[0]).toMatchObject({ file: path, path: 'thresholds.lmax', line: 2 });
    } finally {
      watcher.close();
    }
  });

  it('survives an editor that saves by renaming a new file over the old one', async () => {
    const dir = await tempDir();
    const path = join(dir, 'remusd.yaml');
    await writeFile(path, 'policy:\n  kind: threshold\n');
    const seen = collector();
    const watcher = watchConfig(path, seen.onChange, { intervalMs: POLL_MS });
    try {
      await settle();
      for (const kind of ['fixed', 'predictive'] as const) {
        await writeFile(join(dir, '.remusd.yaml.swp'), `policy:\n  kind: ${kind}\n`);
        await rename(join(dir, '.remusd.yaml.swp'), path);
        const result = await seen.next();
        expect(result.ok && result.config.policy.kind).toBe(kind);
        await settle();
      }
    } finally {
      watcher.close();
    }
  });

  it('reports a deleted file as an error and picks it up again when it comes back', async () => {
    const path = join(await tempDir(), 'remusd.yaml');
    await writeFile(path, '');
    const seen = collector();
    const watcher = watchConfig(path, seen.onChange, { intervalMs: POLL_MS });
    try {
      await settle();
      await unlink(path);
      const gone = await seen.next();
      expect(gone.ok).toBe(false);
      if (!gone.ok) expect(gone.errors[0]?.message).toBe('cannot read the file: no such file (ENOENT)');
      await writeFile(path, 'interval:\n  initial: 1s\n');
      const back = await seen.next();
      expect(back.ok && back.config.interval.initialMs).toBe(1000);
    } finally {
      watcher.close();
    }
  });

  it('reload() (what SIGHUP calls) loads now, and returns what it hands over', async () => {
    const path = join(await tempDir(), 'remusd.yaml');
    await writeFile(path, 'interval:\n  initial: 300ms\n');
    const seen = collector();
    const watcher = watchConfig(path, seen.onChange, { intervalMs: 60_000 });
    try {
      const returned = await watcher.reload();
      expect(returned.ok && returned.config.interval.initialMs).toBe(300);
      expect(await seen.next()).toBe(returned);
      // Loads one at a time, in order.
      const both = await Promise.all([watcher.reload(), watcher.reload()]);
      expect(both.every((r) => r.ok)).toBe(true);
      expect([await seen.next(), await seen.next()]).toEqual(both);
    } finally {
      watcher.close();
    }
  });

  it('reads a save made in several writes once, whole, and ignores a touch', async () => {
    const path = join(await tempDir(), 'remusd.yaml');
    await writeFile(path, 'interval:\n  initial: 300ms\n');
    const seen = collector();
    // Polls every 100 ms; a change is loaded after 200 ms without another.
    const watcher = watchConfig(path, seen.onChange, { intervalMs: 2 * POLL_MS });
    try {
      await settle();
      // An editor truncating first: the empty file (valid: all defaults) must not be handed over. The gap
      // lets at least one poll see the empty file.
      await writeFile(path, '');
      await new Promise((resolve) => setTimeout(resolve, 2 * POLL_MS + 10));
      await writeFile(path, 'interval:\n  initial: 400ms\n');
      const result = await seen.next();
      expect(result.ok && result.config.interval.initialMs).toBe(400);
      await settle();
      await settle();
      await settle();
      expect(seen.results).toEqual([]);
      const later = new Date(Date.now() + 5000);
      await utimes(path, later, later);
      await settle();
      await settle();
      await settle();
      expect(seen.results).toEqual([]);
    } finally {
      watcher.close();
    }
  });

  it('hands nothing over after close()', async () => {
    const path = join(await tempDir(), 'remusd.yaml');
    await writeFile(path, '');
    const seen = collector();
    const watcher = watchConfig(path, seen.onChange, { intervalMs: POLL_MS });
    await settle();
    watcher.close();
    await writeFile(path, 'interval:\n  initial: 1s\n');
    await settle();
    await watcher.reload();
    expect(seen.results).toEqual([]);
  });
});
