import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../../src/paths.js';
import { requireVm } from '../helpers/vm.js';

// Runs once before the VM tests: they must be inside the VM, and use the dist/ and the dirtier binary that
// scripts/vm/run-tests.mjs built on the host (building here, under TCG and on an overlay, is slow).
export default async function setup(): Promise<void> {
  requireVm();
  const cli = join(packageRoot(), 'dist', 'cli', 'main.js');
  await access(cli).catch(() => {
    throw new Error(
      `${cli} is missing: run the VM tests through \`npm run test:vm\`, which builds dist/ on the host first`,
    );
  });
}
