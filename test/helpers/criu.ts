import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { locateCriu, type CriuLocation } from '../../src/criu/locate.js';
import { requireRoot } from './root.js';

/**
 * The CRIU the real-CRIU tests use. There is no skip: the README's test command installs CRIU first, and a
 * machine where it cannot run must fail these tests loudly rather than pass them silently.
 */
export async function testCriu(): Promise<CriuLocation> {
  requireRoot();
  return locateCriu();
}

const made: string[] = [];
afterAll(async () => {
  if (process.env.REMUSD_KEEP_TEST_IMAGES) return;
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** A fresh directory for images, removed after the test file (set REMUSD_KEEP_TEST_IMAGES=1 to keep them). */
export async function imagesDir(prefix = 'remusd-images-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
