import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { configFromText } from '../../src/config/load.js';
import type { FencingConfig } from '../../src/config/fencing.js';

/** The fencing section of a test config: lease on PREFIX/NAME/leader in the etcd at endpoint. */
export function fencingYaml(
  endpoint: string,
  holder: string,
  options: { name: string; ttl?: string; onFence?: 'freeze' | 'kill'; acquireTimeout?: string },
): string {
  return [
    'fencing:',
    '  kind: etcd',
    `  endpoints: [${endpoint}]`,
    '  prefix: /remusd-test',
    `  name: ${options.name}`,
    `  holder: ${holder}`,
    `  ttl: ${options.ttl ?? '2s'}`,
    `  on_fence: ${options.onFence ?? 'freeze'}`,
    `  acquire_timeout: ${options.acquireTimeout ?? '0s'}`,
    '',
  ].join('\n');
}

/** Writes ROOT/NAME.yaml: a fast delta run config (images in ROOT/images) plus the fencing section. */
export async function writeFencedConfig(root: string, file: string, fencing: string): Promise<string> {
  const path = join(root, file);
  await writeFile(
    path,
    `interval: { initial: 300ms, min: 200ms, max: 1s }\ncheckpoint: { mode: delta, dir: ./images, retention: { keep: 5 } }\n${fencing}`,
  );
  return path;
}

/** The normalized fencing section of such YAML (for reading the key from a test). */
export function fencingOf(yaml: string): Extract<FencingConfig, { kind: 'etcd' }> {
  const result = configFromText(yaml, 'test', '/');
  if (!result.ok || result.config.fencing.kind !== 'etcd')
    throw new Error(`bad test fencing yaml: ${JSON.stringify(result)}`);
  return result.config.fencing;
}
