// Which whole runs a backup lets go of (backup --keep-runs), as a pure function of what it holds. Every life
// of a primary's images directory is a run (run.json's UUID), and each keeps its checkpoints, the full base
// of a chain included: over months of restarts they would fill the disk. The runs are ranked as a failover
// ranks them (run-choice.ts: by when their newest checkpoint was taken, the primary's clock); the newest
// keepRuns stay. Never removed whatever their rank: a run a sender is connected for (its checkpoints are
// arriving), and the run a failover would restore now, so retention never takes what a restore needs.

import { chooseRun, lastTaken, type RunView } from './run-choice.js';

/** The runs to remove, each with why, oldest last; none while fewer than keepRuns are held. */
export function runsToPrune(
  runs: readonly RunView[],
  keepRuns: number,
  receiving: ReadonlySet<string>,
): { id: string; why: string }[] {
  if (runs.length <= keepRuns) return [];
  const choice = chooseRun(runs);
  const restorable = choice.ok ? choice.run.id : undefined;
  // Newest first; runs without a known time (no complete checkpoint, no readable manifest) last.
  const ranked = [...runs].sort((a, b) => lastTaken(b) - lastTaken(a) || 0);
  const doomed: { id: string; why: string }[] = [];
  ranked.forEach((run, rank) => {
    if (rank < keepRuns || run.id === undefined || run.id === restorable || receiving.has(run.id)) return;
    const taken = lastTaken(run);
    doomed.push({
      id: run.id,
      why: `run ${run.id} is number ${rank + 1} of ${ranked.length} by its newest checkpoint (${Number.isFinite(taken) ? `taken ${new Date(taken).toISOString()}` : 'none complete'}); keep_runs ${keepRuns}`,
    });
  });
  return doomed;
}
