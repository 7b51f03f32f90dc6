// The parent decision: whether the previous checkpoint's page hashes may serve as the parent of a new dump.
// Anything missing, corrupt or from other processes means a new chain, with the reason said.
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PE_PARENT } from '../criu/images/index.js';
import { errorCode } from '../fs/error-code.js';
import { exists } from '../fs/exists.js';
import type { DumpedProcess } from './dump-images.js';
import type { PageHashes } from './page-hashes.js';
import { checkState } from './state-check.js';

/** What the decision looks at from the rewrite's options. */
export interface ParentRequest {
  /** The new dump's directory. */
  dir: string;
  /** The previous checkpoint's directory name, a sibling of the final directory; undefined starts a new chain. */
  parentName?: string | undefined;
  /** The state returned by the rewrite of the previous checkpoint, if this process still has it. */
  previous?: PageHashes | undefined;
}

// Whether the previous state may serve as the parent of this dump, and if not why.
export async function decideParent(
  options: ParentRequest,
  dumped: readonly DumpedProcess[],
  pageSize: number,
): Promise<{ ok: true; parentName: string; previous: PageHashes } | { ok: false; reason: string }> {
  const { dir, parentName, previous } = options;
  if (
    dumped.some((p) => p.pagemap.entries.some((e) => (e.flags & PE_PARENT) !== 0)) ||
    (await exists(join(dir, 'parent'), 'link-itself'))
  ) {
    return { ok: false, reason: 'the new dump is already incremental (it has its own parent): left as CRIU wrote it' };
  }
  if (parentName === undefined) return { ok: false, reason: 'no parent requested (new chain)' };
  if (!/^[^/]+$/.test(parentName) || parentName === '.' || parentName === '..') {
    return { ok: false, reason: `parent name ${JSON.stringify(parentName)} is not a directory name` };
  }
  if (previous === undefined) return { ok: false, reason: 'no previous state' };
  if (previous.name !== parentName)
    return { ok: false, reason: `previous state describes checkpoint ${previous.name}, not ${parentName}` };
  if (previous.pageSize !== pageSize)
    return { ok: false, reason: `previous state has ${previous.pageSize}-byte pages, this dump ${pageSize}` };
  const parentDir = resolve(dir, '..', parentName);
  try {
    if (!(await stat(parentDir)).isDirectory())
      return { ok: false, reason: `previous checkpoint missing: ${parentDir} is not a directory` };
  } catch (err) {
    return {
      ok: false,
      reason: `previous checkpoint missing: ${parentDir} (${errorCode(err) ?? String(err)})`,
    };
  }
  const pids = dumped.map((p) => p.pid);
  if (pids.join(',') !== previous.pids.join(',')) {
    return {
      ok: false,
      reason: `different pids: [${previous.pids.join(', ')}] in ${parentName}, [${pids.join(', ')}] now`,
    };
  }
  const checked = await checkState(previous, parentDir);
  return checked.ok ? { ok: true, parentName, previous } : checked;
}
