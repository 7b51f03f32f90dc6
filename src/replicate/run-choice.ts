import type { StoredCheckpoint } from '../store/chain.js';

// Which run a failover restores, as a pure function of what the backup holds. A run's checkpoints are
// ordered by the primary's own sequence (their names, which never go backwards within a run); runs are
// ordered by the primary's clock: the run whose newest checkpoint was taken last is the newest. Names are
// never compared across runs: a restarted primary numbers from 00000001 again, and its 00000003 is newer
// than the old run's 00000950.

/** One run as a failover sees it. */
export interface RunView {
  /** The run id; undefined for a plain images directory without a run.json. */
  id: string | undefined;
  dir: string;
  host?: string;
  started?: string;
  /** Its complete checkpoint directories. */
  checkpoints: StoredCheckpoint[];
  /** When each checkpoint was taken (ms, the primary's clock), where known. */
  takenAtMs: ReadonlyMap<string, number>;
}

export type RunChoice = { ok: true; run: RunView; why: string } | { ok: false; problem: string };

/** The run to restore from: `wanted` if given, else the newest; with the reason in words. */
export function chooseRun(runs: readonly RunView[], wanted?: string): RunChoice {
  if (wanted !== undefined) {
    const run = runs.find((r) => r.id === wanted);
    if (run === undefined)
      return { ok: false, problem: `no run ${wanted} here (runs: ${runs.map(describe).join('; ') || 'none'})` };
    return { ok: true, run, why: `run ${wanted} as asked` };
  }
  const candidates = runs.filter((r) => r.checkpoints.length > 0);
  if (candidates.length === 0)
    return {
      ok: false,
      problem: runs.length === 0 ? 'there are no runs and no checkpoints' : 'no run has a complete checkpoint',
    };
  const ranked = [...candidates].sort(
    (a, b) => lastTaken(b) - lastTaken(a) || Date.parse(b.started ?? '') - Date.parse(a.started ?? '') || 0,
  );
  const [run, ...older] = ranked;
  if (run === undefined) return { ok: false, problem: 'no run has a complete checkpoint' }; // candidates was not empty
  if (older.length === 0) return { ok: true, run, why: `${describe(run)} is the only run here` };
  return {
    ok: true,
    run,
    why: `${describe(run)} is the newest of ${ranked.length} runs by the primary's clock (${older.map(describe).join('; ')})`,
  };
}

/** The newest time a run's checkpoints were taken (the primary's clock), -Infinity if none is known. */
export function lastTaken(run: RunView): number {
  return Math.max(-Infinity, ...run.takenAtMs.values());
}

function describe(run: RunView): string {
  const newest = run.checkpoints.at(-1);
  const taken = newest === undefined ? undefined : run.takenAtMs.get(newest.name);
  const what =
    newest === undefined
      ? 'no checkpoints'
      : `newest ${newest.name}${taken === undefined ? '' : ` taken ${new Date(taken).toISOString()}`}`;
  return `run ${run.id ?? '(unnamed)'}${run.host === undefined ? '' : ` of ${run.host}`}: ${what}`;
}
