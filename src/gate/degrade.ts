// Degraded output commit (output_commit.degrade_after): when the backup has not acknowledged anything for
// that long, the primary releases epochs on its own fsync instead of waiting on, as Remus' primary carries on
// alone when its backup fails. Safely: before anything goes out unacknowledged, the newest checkpoint it
// covers is recorded in etcd in one transaction with the check that this primary holds the lease
// (src/fence/released.ts); if that write fails, nothing is released (the output stalls as without degrading).
// A backup that later takes the lease reads the record and refuses to restore anything older. Once the
// backup acknowledges that checkpoint (or a newer one), the record is deleted and releases wait for acks again.

import type { OutputCommit } from './commit.js';

/** What the degraded release records in etcd first (src/fence/released.ts, through the lease holder). */
export interface ReleasedRecord {
  holder: string;
  run: string;
  checkpoint: string;
  released_at_ms: number;
  released_at: string;
}

/** The edge: etcd (through the lease) and the run's identity. */
export interface DegradeDeps {
  /** Writes the record while the lease is held; false or a throw: not recorded, release nothing. */
  record(value: ReleasedRecord): Promise<boolean>;
  /** Deletes the record if it still says value; false: it stays (retried at the next ack). */
  clear(value: ReleasedRecord): Promise<boolean>;
  /** The run id of the images directory (run.json), undefined before it exists. */
  runId(root: string): string | undefined;
  holder: string;
  log: { warn(message: string): void; info(message: string): void; error(message: string): void };
  /** Degraded (1) or protected (0): the remusd_replication_degraded gauge. */
  gauge?(on: boolean): void;
  now?: () => number;
  wallNow?: () => number;
}

/** Whether to release the newest completed checkpoint on local fsync now (pure). */
export function shouldDegrade(s: {
  nowMs: number;
  lastAckMs: number;
  afterMs: number;
  newestCompleted: number | undefined;
  releasedThrough: number;
}): boolean {
  return s.newestCompleted !== undefined && s.newestCompleted > s.releasedThrough && s.nowMs - s.lastAckMs >= s.afterMs;
}

/** The degrade state of one run's output commit; OutputCommit calls completed() and acked(). */
export class Degrade {
  private lastAckMs: number;
  private newest: { seq: number; root: string; dir: string } | undefined;
  /** What etcd holds while degraded (undefined: protected by the backup's acks). */
  private recorded: ReleasedRecord | undefined;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private failedWrite = '';
  private readonly now: () => number;

  constructor(
    private readonly output: OutputCommit,
    readonly afterMs: number,
    private readonly deps: DegradeDeps,
  ) {
    this.now = deps.now ?? (() => performance.now());
    this.lastAckMs = this.now(); // a backup that never acks counts from the start
  }

  /** Degraded: output released without the backup's ack, not yet caught up. */
  get degraded(): boolean {
    return this.recorded !== undefined;
  }

  /** Checks every tickMs as well: with the plug gate the loop itself waits on the release. */
  start(tickMs = 200): void {
    this.timer = setInterval(() => this.serialize(() => this.tick()), tickMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Checkpoint seq is complete (in dir under root) and waits for the backup's ack. */
  completed(seq: number, root: string, dir: string): void {
    this.newest = { seq, root, dir };
    this.serialize(() => this.tick());
  }

  /** The backup acknowledged checkpoint seq (its epoch was released through the gate). */
  acked(seq: number, root: string | undefined): void {
    this.lastAckMs = this.now();
    this.failedWrite = '';
    this.serialize(() => this.caughtUp(seq, root));
  }

  private serialize(work: () => Promise<void>): void {
    this.chain = this.chain
      .then(work)
      .catch((error: Error) => this.deps.log.error(`degraded output commit: ${error.message}`));
  }

  private async tick(): Promise<void> {
    const newest = this.newest;
    const releasedThrough = this.output.releasedThrough ?? 0;
    if (
      newest === undefined ||
      !shouldDegrade({
        nowMs: this.now(),
        lastAckMs: this.lastAckMs,
        afterMs: this.afterMs,
        newestCompleted: newest.seq,
        releasedThrough,
      })
    )
      return;
    const run = this.deps.runId(newest.root);
    const name = String(newest.seq).padStart(8, '0');
    const wall = (this.deps.wallNow ?? Date.now)();
    const value: ReleasedRecord = {
      holder: this.deps.holder,
      run: run ?? '',
      checkpoint: name,
      released_at_ms: Math.round(wall),
      released_at: new Date(wall).toISOString(),
    };
    const silentMs = Math.round(this.now() - this.lastAckMs);
    const ok = run === undefined ? false : await this.deps.record(value).catch(() => false);
    if (!ok) {
      const why =
        run === undefined
          ? 'the images directory has no run.json yet'
          : 'could not record it in etcd while holding the lease';
      if (why !== this.failedWrite)
        this.deps.log.error(
          `no ack from the backup for ${silentMs} ms, but not degrading: ${why}; the output stays held`,
        );
      this.failedWrite = why;
      return;
    }
    if (this.recorded === undefined) {
      this.deps.log.warn(
        `DEGRADED: no ack from the backup for ${silentMs} ms (degrade_after ${this.afterMs} ms): releasing output on local fsync, UNPROTECTED; ` +
          `a failover now would restore an older checkpoint, so the backup will refuse to (recorded ${name} of run ${value.run} in etcd)`,
      );
      this.deps.gauge?.(true);
    }
    this.recorded = value;
    this.output.degraded = true;
    await this.output.releaseLocally(newest.seq, newest.root, newest.dir);
  }

  private async caughtUp(seq: number, root: string | undefined): Promise<void> {
    const recorded = this.recorded;
    if (recorded === undefined) return;
    const run = root === undefined ? undefined : this.deps.runId(root);
    if (run !== recorded.run || seq < Number(recorded.checkpoint)) return;
    if (!(await this.deps.clear(recorded).catch(() => false))) {
      this.deps.log.warn(
        `the backup caught up (acknowledged ${String(seq).padStart(8, '0')}), but the record in etcd could not be cleared yet; retrying at the next ack`,
      );
      return;
    }
    if (this.recorded !== recorded) return; // a newer degraded release was recorded meanwhile
    this.recorded = undefined;
    this.output.degraded = false;
    this.deps.gauge?.(false);
    this.deps.log.warn(
      `PROTECTED again: the backup acknowledged ${String(seq).padStart(8, '0')} (≥ ${recorded.checkpoint}, the newest output released without it); releases wait for its acks again`,
    );
  }
}
