import { lstatSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { criuLogTail, describeCriuEnd } from '../criu/exec.js';
import type { CriuLocation } from '../criu/locate.js';
import { restore } from '../criu/restore.js';
import { chainOf, type StoredCheckpoint } from '../loop/chain.js';
import { scanCheckpoints } from '../loop/store.js';
import type { NetworkConfig } from '../model/network.js';
import type { NetworkLog } from '../net/index.js';
import { chainProblem } from './completeness.js';
import { prepareRestoreNetwork, type RestoredNetwork } from './restore-network.js';

/** The checkpoint to restore and the newer ones passed over, each with why. */
export interface FailoverChoice {
  chosen: StoredCheckpoint | undefined;
  skipped: { name: string; reason: string }[];
}

/**
 * The newest checkpoint whose whole chain is present, and the newer ones passed over with why.
 * `hasParentEntry` tells whether a checkpoint directory has a `parent` entry at all: a chain's oldest link
 * must have none (scanCheckpoints reads a link to something that is not a checkpoint as "no parent").
 */
export function chooseRestorable(checkpoints: readonly StoredCheckpoint[], hasParentEntry: (c: StoredCheckpoint) => boolean): FailoverChoice {
  const skipped: FailoverChoice['skipped'] = [];
  for (const candidate of [...checkpoints].sort((a, b) => b.seq - a.seq)) {
    const oldest = chainOf(checkpoints, candidate.seq).at(-1)!;
    const reason =
      chainProblem(checkpoints, candidate.seq) ??
      (hasParentEntry(oldest) ? `${oldest.name}/parent does not point at a checkpoint of this directory` : undefined);
    if (reason === undefined) return { chosen: candidate, skipped };
    skipped.push({ name: candidate.name, reason });
  }
  return { chosen: undefined, skipped };
}

export interface FailoverResult {
  name: string;
  pid: number;
  skipped: FailoverChoice['skipped'];
  chainLength: number;
  wallMs: number;
  /** With a network section: the namespace restored into and the route moved to it. */
  network?: RestoredNetwork;
}

export interface FailoverOptions {
  /** Restore into a namespace of its own with this service address, then route the address to it. */
  network?: NetworkConfig | undefined;
  /** Where the network side says what it did with a leftover namespace. */
  log?: NetworkLog;
}

/** A failover that could not restore anything; the message says why (CRIU's log tail included). */
export class FailoverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailoverError';
  }
}

/**
 * A restore that takes longer than this is killed with everything it forked. Restoring the tests' 64 MiB
 * workload takes 0.1-0.3 s here; a minute leaves room for gigabytes on a slow disk.
 */
const RESTORE_TIMEOUT_MS = 60_000;

/** Restores the newest checkpoint in dir whose chain is whole (criu restore -d); returns the restored pid. */
export async function failover(criu: CriuLocation, dir: string, options: FailoverOptions = {}): Promise<FailoverResult> {
  const checkpoints = scanCheckpoints(dir);
  const { chosen, skipped } = chooseRestorable(checkpoints, (c) => hasEntry(join(dir, c.name, 'parent')));
  if (chosen === undefined) {
    const why = skipped.length === 0 ? 'there are no complete checkpoints' : skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
    throw new FailoverError(`nothing to restore in ${dir}: ${why}`);
  }
  const pidFile = join(dir, '.failover.pid');
  await rm(pidFile, { force: true });
  const imagesDir = join(dir, chosen.name);
  // Log level 4: a restore is rare and its log is what explains a failure or a hang (the last lines say
  // where CRIU was); at level 2 a hung restore logs nothing at all.
  const network = options.network === undefined ? undefined : await prepareRestoreNetwork(options.network, options.log ?? { info: () => undefined });
  const run = await restore(criu, { imagesDir, pidFile, logLevel: 4, timeoutMs: RESTORE_TIMEOUT_MS, namespaceFd: network?.fd }).catch(async (error: unknown) => {
    await network?.discard();
    throw error;
  });
  if (run.exitCode !== 0) {
    await network?.discard();
    throw new FailoverError(`criu restore of ${imagesDir} failed: it ${describeCriuEnd(run)}:\n${await criuLogTail(run.logFile)}`);
  }
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await rm(pidFile, { force: true });
  const restoredNetwork = await network?.takeOver();
  return {
    name: chosen.name,
    pid,
    skipped,
    chainLength: chainOf(checkpoints, chosen.seq).length,
    wallMs: Math.round(run.wallMs),
    ...(restoredNetwork === undefined ? {} : { network: restoredNetwork }),
  };
}

function hasEntry(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
