import { locateCriu, type CriuLocation } from '../../src/criu/locate.js';
import { requireRoot } from './root.js';
import { scratchDir } from './scratch.js';

/**
 * The CRIU the real-CRIU tests use. There is no skip: the README's test command installs CRIU first, and a
 * machine where it cannot run must fail these tests loudly rather than pass them silently.
 */
export async function testCriu(): Promise<CriuLocation> {
  requireRoot();
  return locateCriu();
}

/** A fresh directory for images, removed after the test file (set REMUSD_KEEP_TEST_IMAGES=1 to keep them). */
export function imagesDir(prefix = 'remusd-images-'): Promise<string> {
  return scratchDir(prefix);
}
