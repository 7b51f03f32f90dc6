// The frozen-time bench's yardstick (copy-reference.c): a helper that moves a resident buffer of the dump's size
// into a file the way CRIU moves a frozen process's pages, timed right before each dump, so that the bench can
// set the freeze's spread (p99 / p50) beside the machine's own spread for that work in the same minutes.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';

export interface CopyReference {
  /** Moves the buffer into a file in the helper's directory once; µs from the first vmsplice to the last splice. */
  copy(): Promise<number>;
  close(): Promise<void>;
}

/** Starts the helper with a resident buffer of mib MiB; resolves once the buffer is in place. */
export async function startCopyReference(dir: string, mib: number): Promise<CopyReference> {
  const binary = await ensureBundledBinary(
    join(packageRoot(), 'src', 'bench', 'copy-reference.c'),
    'remusd-copy-reference',
  );
  const child = execa(binary, [dir, String(mib)], { stdin: 'pipe', stdout: 'pipe', stderr: 'inherit', buffer: false });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<string> => {
    const line = await lines.next();
    if (line.done === true) throw new Error('remusd-copy-reference ended early (its stderr says why)');
    return line.value;
  };
  if ((await next()) !== 'ready') throw new Error('remusd-copy-reference did not start');
  return {
    async copy() {
      child.stdin.write('\n');
      const line = await next();
      const match = /^copy_us=(\d+) /.exec(line);
      if (match?.[1] === undefined) throw new Error(`remusd-copy-reference printed ${JSON.stringify(line)}`);
      return Number(match[1]);
    },
    async close() {
      child.stdin.end();
      await child;
    },
  };
}
