import { createHash } from 'node:crypto';
import { mkdir, readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { errorMessage } from '../fs/error-code.js';
import { exists } from '../fs/exists.js';
import { packageRoot } from '../paths.js';

/**
 * Compiles one of remusd's bundled C programs once per source version and returns the binary's path
 * (cached under .remusd/bin as NAME-<source hash>). `source` is one .c file, or a program's files: its .c
 * files are compiled together, and every file listed (headers too) goes into the hash.
 */
export async function ensureBundledBinary(
  source: string | readonly string[],
  name: string,
  cacheDir = join(packageRoot(), '.remusd', 'bin'),
): Promise<string> {
  const files = typeof source === 'string' ? [source] : source;
  const hash = createHash('sha256');
  for (const file of files) hash.update(await readFile(file));
  const version = hash.digest('hex').slice(0, 12);
  const binary = join(cacheDir, `${name}-${version}`);
  if (await exists(binary, 'follow-links')) return binary;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const compiler = process.env.CC ?? 'cc';
  const units = files.filter((file) => file.endsWith('.c'));
  try {
    await execa(compiler, ['-O2', '-Wall', '-o', partial, ...units]);
  } catch (error) {
    throw new Error(
      `cannot build ${units.map((file) => basename(file)).join(' ')}: '${compiler} ${units.join(' ')}' failed (${errorMessage(error).split('\n')[0]}). ` +
        'Install a C compiler (apt-get install gcc libc6-dev) or set CC.',
    );
  }
  await rename(partial, binary); // atomic: a concurrent build never sees a half-written binary
  return binary;
}
