// Swapping two directories atomically (a compacted checkpoint for the chain it replaces): renameat2 with
// RENAME_EXCHANGE through a bundled helper (src/delta/rename-exchange.c), since Node has no renameat2.
import { join } from 'node:path';
import { execa } from 'execa';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';

/** Compiles the exchange helper once per source version and returns its path. */
export function ensureExchangeBinary(): Promise<string> {
  return ensureBundledBinary(join(packageRoot(), 'src', 'delta', 'rename-exchange.c'), 'remusd-exchange');
}

/** Swaps paths a and b (entries of one directory) atomically, then fsyncs that directory. */
export async function exchangeDirectories(a: string, b: string): Promise<void> {
  const helper = await ensureExchangeBinary();
  const result = await execa(helper, [a, b], { reject: false, timeout: 30_000 });
  if (result.exitCode !== 0)
    throw new Error(
      `cannot swap ${a} and ${b}: ${result.stderr.trim() || `remusd-exchange ${result.exitCode ?? result.signal}`}`,
    );
}
