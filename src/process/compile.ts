import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../paths.js';

/**
 * Compiles one of remusd's bundled C programs once per source version and returns the binary's path
 * (cached under .remusd/bin as NAME-<source hash>).
 */
export async function ensureBundledBinary(source: string, name: string, cacheDir = join(packageRoot(), '.remusd', 'bin')): Promise<string> {
  const text = await readFile(source);
  const version = createHash('sha256').update(text).digest('hex').slice(0, 12);
  const binary = join(cacheDir, `${name}-${version}`);
  if (await exists(binary)) return binary;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const compiler = process.env.CC ?? 'cc';
  try {
    await execa(compiler, ['-O2', '-Wall', '-o', partial, source]);
  } catch (error) {
    throw new Error(
      `cannot build ${basename(source)}: '${compiler} ${source}' failed (${(error as Error).message.split('\n')[0]}). ` +
        'Install a C compiler (apt-get install gcc libc6-dev) or set CC.',
    );
  }
  await rename(partial, binary); // atomic: a concurrent build never sees a half-written binary
  return binary;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
