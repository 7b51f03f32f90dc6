// Compaction on the backup: the backup flattens its own copy of a run's chain by the same rule as the
// primary (compactionTarget), so chains stay short there too while only deltas are ever shipped. Nothing
// about it is negotiated: a compaction keeps every link's name and the parent of every newer link, and the
// flattened link restores the same memory, so the primary's offers (`parent` ../NNNNNNNN of a complete
// link) are judged exactly as before, whichever side compacted when.
//
// The verify-before-restore rules keep holding. The chain is verified (verify.ts: manifests, sizes, xxh64,
// parent links, image structure) BEFORE it is merged, so damage is never laundered into a fresh manifest;
// the flattened link gets a manifest of its own (same run, name and taken_at, parent null, each file's size
// and xxh64 as written) before it is swapped in, so a later failover verifies it like any other link.
import { basename, dirname, join } from 'node:path';
import { compactCheckpoint, type CompactResult } from '../delta/index.js';
import { compactionTarget } from '../store/chain.js';
import { scanCheckpoints } from '../store/checkpoints.js';
import { readLocalCheckpoint } from '../store/manifest.js';
import { readManifest } from './backup-runs.js';
import { writeManifest } from './landing.js';
import type { ReplicationLog } from './events.js';
import { MANIFEST_FILE } from './messages.js';
import { verifyChain } from './verify.js';

export interface RunCompaction {
  /** The run directory (BACKUP/runs/ID) and its run id. */
  dir: string;
  run: string;
  compactAt: number;
  pageSize: number;
}

/** Compacts the run's current chain if it is long enough; undefined when nothing was due. Throws why it could not. */
export async function compactRun({ dir, run, compactAt, pageSize }: RunCompaction): Promise<CompactResult | undefined> {
  const checkpoints = scanCheckpoints(dir);
  const newest = checkpoints.at(-1);
  const target = newest === undefined ? undefined : compactionTarget(checkpoints, newest.seq, compactAt);
  if (target === undefined) return undefined;
  const verified = await verifyChain({ runDir: dir, run, pageSize }, target.name);
  if (!verified.ok) throw new Error(`not compacting ${target.name}, its chain does not verify: ${verified.problem}`);
  const manifest = readManifest(join(dir, target.name));
  return compactCheckpoint({
    root: dir,
    name: target.name,
    pageSize,
    files: manifest.files.map((f) => f.name),
    async beforeSwitch(copy) {
      const written = await readLocalCheckpoint(dirname(copy), basename(copy));
      await writeManifest(join(copy, MANIFEST_FILE), { ...manifest, parent: null, files: written.files });
    },
  });
}

/** Compactions in the background of a receiver: one at a time, started after a checkpoint landed. */
export class BackupCompactor {
  private running: Promise<void> | undefined;

  /** compaction undefined: never compact (backup --compact-at 0). */
  constructor(
    private readonly compaction: { compactAt: number; pageSize: number } | undefined,
    private readonly log: ReplicationLog,
  ) {}

  /** Compacts the run in `dir` if its chain is long enough and no compaction runs; retention frees the replaced links later. */
  start(dir: string, run: string): void {
    if (this.compaction === undefined || this.running !== undefined) return;
    this.running = compactRun({ dir, run, ...this.compaction })
      .then(
        (done) => {
          if (done === undefined) return;
          this.log.info(`compacted ${done.name}: ${done.links} links flattened into a base`, {
            run,
            bytes_written: done.bytesWritten,
            ms: Math.round(done.elapsedMs),
          });
        },
        (error: Error) => this.log.warn(`compaction failed (the chain is left as it was): ${error.message}`, { run }),
      )
      .finally(() => (this.running = undefined));
  }

  /** Resolves once no compaction runs. */
  async settled(): Promise<void> {
    await this.running;
  }
}
