import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { locateCriu, type CriuLocation } from '../../src/criu/locate.js';

/**
 * The CRIU the real-CRIU tests use. There is no skip: the README's test command installs CRIU first, and a
 * machine where it cannot run must fail these tests loudly rather than pass them silently.
 */
export async function testCriu(): Promise<CriuLocation> {
  if (process.getuid?.() !== 0) throw new Error('real-CRIU tests must run as root (CRIU needs CAP_SYS_ADMIN and ptrace)');
  return locateCriu();
}

/** A fresh directory for images (under /tmp: tmpfs-like speed is not needed, only isolation). */
export async function imagesDir(prefix = 'remusd-images-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}
