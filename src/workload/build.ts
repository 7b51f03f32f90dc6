import { createHash } from 'node:crypto';
import { access, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../paths.js';

const SOURCE = join(packageRoot(), 'src', 'workload', 'dirtier.c');

/** Compiles the bundled workload (dirtier.c) once per source version and returns the binary's path. */
export async function ensureDirtierBinary(cacheDir = join(packageRoot(), '.remusd', 'bin')): Promise<string> {
  const source = await readFile(SOURCE);
  const version = createHash('sha256').update(source).digest('hex').slice(0, 12);
  const binary = join(cacheDir, `remusd-dirtier-${version}`);
  if (await exists(binary)) return binary;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const compiler = process.env.CC ?? 'cc';
  try {
    await execa(compiler, ['-O2', '-Wall', '-o', partial, SOURCE]);
  } catch (error) {
    throw new Error(
      `cannot build the bundled workload: '${compiler} ${SOURCE}' failed (${(error as Error).message.split('\n')[0]}). ` +
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
