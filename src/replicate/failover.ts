import { existsSync, statSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { criuLogTail, describeCriuEnd } from '../criu/exec.js';
import type { CriuLocation } from '../criu/locate.js';
import { pageSize } from '../criu/probe.js';
import { listPagemapFiles } from '../criu/images/pagemap.js';
import { restore } from '../criu/restore.js';
import { readRunIdentity } from '../store/run-identity.js';
import { scanCheckpoints } from '../store/checkpoints.js';
import type { NetworkConfig } from '../model/network.js';
import type { NetworkLog } from '../net/index.js';
import { hostPidsNeeded } from '../process/pid-namespace.js';
import { processPlace, waitWhileZombies } from '../process/proc.js';
import { listRunDirectories, readBackupRun, readManifest, RUNS_DIR } from './backup-runs.js';
import { prepareRestoreNetwork, type RestoredNetwork } from './restore-network.js';
import { chooseRun, type RunView } from './run-choice.js';
import { verifyChain, type VerifyContext } from './verify.js';

export interface FailoverResult {
  /** The run restored from (undefined: a plain images directory without a run.json). */
  run: string | undefined;
  /** Why that run: the newest by the primary's clock, the only one, or the one asked for. */
  runReason: string;
  name: string;
  /** The restored root's host pid, from CRIU's --pidfile: a new one when the root is a pid namespace's init. */
  pid: number;
  /** Newer checkpoints of the run passed over, each with the check it failed (naming the file). */
  skipped: { name: string; reason: string }[];
  chainLength: number;
  /** manifests: every file's size and hash checked against the manifest; structure: no manifests here (a plain images directory). */
  verified: 'manifests' | 'structure';
  /** How long verifying took (every link read and hashed again), ms. */
  verifyMs: number;
  wallMs: number;
  /** With a network section: the namespace restored into and the route moved to it. */
  network?: RestoredNetwork;
}

export interface FailoverOptions {
  /** Restore from this run (its id) instead of the newest one. */
  run?: string | undefined;
  /** Restore into a namespace of its own with this service address, then route the address to it. */
  network?: NetworkConfig | undefined;
  /** Where the network side says what it did with a leftover namespace. */
  log?: NetworkLog;
  /** The page size, if known already (finding it runs getconf: ~0.1-0.3 s on a loaded machine). */
  pageSize?: Promise<number>;
  /** Why the checkpoint chosen must not be restored (undefined: it may be), e.g. fencing's record of output the primary released unacknowledged. */
  mayRestore?: (candidate: {
    run: string | undefined;
    name: string;
    takenAtMs: number | undefined;
  }) => string | undefined;
}

/** A failover that could not restore anything; the message says why (CRIU's log tail included). */
export class FailoverError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailoverError';
  }
}

/** A failover refused because the newest verified checkpoint is older than output clients have seen. */
export class StaleRestoreError extends FailoverError {
  constructor(message: string) {
    super(message);
    this.name = 'StaleRestoreError';
  }
}

/** How long a restore waits for the checkpoint's pids to be released by dead (zombie) processes. */
const ZOMBIE_WAIT_MS = 10_000;
/**
 * A restore that takes longer than this is killed with everything it forked. Restoring the tests' 64 MiB
 * workload takes 0.1-0.3 s here; a minute leaves room for gigabytes on a slow disk.
 */
const RESTORE_TIMEOUT_MS = 60_000;

/**
 * Restores (criu restore -d) the newest checkpoint that verifies, of the newest run in dir (or of
 * `run`), and returns the restored pid. Every link of its chain is verified first (verify.ts); a
 * checkpoint that fails is skipped for the next older one of the same run, and the reason kept. Other
 * runs are never fallen back to: that would resurrect an older life of the workload; `run` picks one.
 */
export async function failover(
  criu: CriuLocation,
  dir: string,
  options: FailoverOptions = {},
): Promise<FailoverResult> {
  const runs = readRuns(dir);
  const choice = chooseRun(runs, options.run);
  if (!choice.ok) throw new FailoverError(`nothing to restore in ${dir}: ${choice.problem}`);
  const { run, why } = choice;
  const plain = !existsSync(join(dir, RUNS_DIR));
  const verifyStarted = performance.now();
  const context: VerifyContext = {
    runDir: run.dir,
    run: plain ? undefined : run.id,
    pageSize: await (options.pageSize ?? pageSize()),
  };
  const skipped: FailoverResult['skipped'] = [];
  let chosen: { name: string; links: string[] } | undefined;
  for (const candidate of [...run.checkpoints].reverse()) {
    const verdict = await verifyChain(context, candidate.name);
    if (verdict.ok) {
      chosen = { name: candidate.name, links: verdict.links };
      break;
    }
    skipped.push({ name: candidate.name, reason: verdict.problem });
  }
  const verifyMs = Math.round(performance.now() - verifyStarted);
  if (chosen === undefined) {
    const why =
      skipped.length === 0 ? 'it has no complete checkpoints' : skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
    const others =
      runs.length > 1
        ? ` (other runs are not fallen back to; pick one with --run: ${runs
            .filter((r) => r !== run)
            .map((r) => r.id)
            .join(', ')})`
        : '';
    throw new FailoverError(`nothing in run ${run.id ?? dir} verifies, refusing to restore: ${why}${others}`);
  }
  const refusal = options.mayRestore?.({ run: run.id, name: chosen.name, takenAtMs: run.takenAtMs.get(chosen.name) });
  if (refusal !== undefined) throw new StaleRestoreError(`refusing to restore ${chosen.name}: ${refusal}`);
  const pidFile = join(dir, '.failover.pid');
  await rm(pidFile, { force: true });
  const imagesDir = join(run.dir, chosen.name);
  // A primary killed on this very machine may still be a zombie holding the pids CRIU must restore: a dead
  // process, so wait for its pid to be released (bounded) rather than fail the restore as if it lived.
  // (None for a pid namespace's init: CRIU restores that tree into a new pid namespace.)
  const pids = hostPidsNeeded((await listPagemapFiles(imagesDir)).map((file) => file.pid));
  await waitWhileZombies(pids, ZOMBIE_WAIT_MS);
  const network =
    options.network === undefined
      ? undefined
      : await prepareRestoreNetwork(options.network, options.log ?? { info: () => undefined });
  // Log level 4: a restore is rare and its log is what explains a failure or a hang (the last lines say
  // where CRIU was); at level 2 a hung restore logs nothing at all.
  const restored = await restore(criu, {
    imagesDir,
    pidFile,
    logLevel: 4,
    timeoutMs: RESTORE_TIMEOUT_MS,
    namespaceFd: network?.fd,
  }).catch(async (error: unknown) => {
    await network?.discard();
    throw error;
  });
  if (restored.exitCode !== 0) {
    await network?.discard();
    throw new FailoverError(
      `criu restore of ${imagesDir} failed: it ${describeCriuEnd(restored)} (${await pidsInUse(pids)}):\n${await criuLogTail(restored.logFile)}`,
    );
  }
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  await rm(pidFile, { force: true });
  const restoredNetwork = await network?.takeOver();
  return {
    run: run.id,
    runReason: why,
    name: chosen.name,
    pid,
    skipped,
    chainLength: chosen.links.length,
    verified: plain ? 'structure' : 'manifests',
    verifyMs,
    wallMs: Math.round(restored.wallMs),
    ...(restoredNetwork === undefined ? {} : { network: restoredNetwork }),
  };
}

// After a failed restore, which of the checkpoint's pids a process holds now and in what state: a live process
// or a zombie explains CRIU's "Can't fork for PID: File exists"; none means the pid was free, or freed since.
async function pidsInUse(pids: readonly number[]): Promise<string> {
  if (pids.length === 0)
    return 'its root is the init of a pid namespace, restored into a new one: no host pid needs to be free';
  const held: string[] = [];
  for (const pid of pids) {
    const place = await processPlace(pid);
    if (place !== undefined) held.push(`${pid} (state ${place.state}, parent ${place.parent})`);
  }
  return held.length === 0 ? 'none of its pids is in use now' : `its pids in use now: ${held.join(', ')}`;
}

/** The runs in dir: a backup's runs/ directories, or (a plain images directory) dir itself as one run. */
export function readRuns(dir: string): RunView[] {
  if (!existsSync(join(dir, RUNS_DIR))) {
    const identity = readRunIdentity(dir);
    const checkpoints = scanCheckpoints(dir, 'list-without-parent'); // each chain is verified before use
    const takenAtMs = new Map(checkpoints.map((c) => [c.name, statSync(join(dir, c.name)).mtimeMs]));
    return [
      {
        id: identity?.id,
        dir,
        ...(identity === undefined ? {} : { host: identity.host, started: identity.started }),
        checkpoints,
        takenAtMs,
      },
    ];
  }
  return listRunDirectories(dir).map(({ id, dir: runDir }) => {
    let about: { host?: string; started?: string } = {};
    try {
      const known = readBackupRun(runDir);
      about = { host: known.host, started: known.started };
    } catch {
      // a run without its run.json still has checkpoints to offer; each is verified on its own
    }
    // A bad parent link must not stop the failover: verification refuses that chain, naming the link, and
    // an older checkpoint is restored instead.
    const checkpoints = scanCheckpoints(runDir, 'list-without-parent');
    const takenAtMs = new Map<string, number>();
    for (const c of checkpoints) {
      try {
        takenAtMs.set(c.name, Date.parse(readManifest(join(runDir, c.name)).taken_at));
      } catch {
        // no readable manifest: verification will say so; its time is unknown
      }
    }
    return { id, dir: runDir, ...about, checkpoints, takenAtMs };
  });
}
