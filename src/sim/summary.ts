// The numbers a simulation is judged by: the supervisor's own RunSummary, plus the share of run time the
// workload spent frozen. Computed as the records stream by (constant memory, however long the run).

import { RunTally, type RunSummary } from '../loop/summary.js';
import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';

/** The RunSummary of simulated runs, with the frozen-time share of the run time. */
export interface SimSummary extends RunSummary {
  /** Σ frozen time / Σ run time, over every run summarized. */
  frozenShare: number;
  /** Simulated runs pooled into this summary. */
  runs: number;
  /** storedBytes and compactionBytes per minute of run time. */
  storedBytesPerMin: number;
  compactionBytesPerMin: number;
}

/** Pools the records of runs of `runMs` each. */
export class SimTally {
  readonly #tally = new RunTally();
  #runs = 0;

  constructor(private readonly runMs: number) {}

  /** Call once per run, before its records. */
  startRun(): void {
    this.#runs += 1;
  }

  add(record: CheckpointRecord): void {
    this.#tally.add(record);
  }

  addFacts(facts: CheckpointFacts): void {
    this.#tally.addFacts(facts);
  }

  summary(): SimSummary | undefined {
    const summary = this.#tally.summary();
    if (summary === undefined) return undefined;
    const minutes = (this.runMs * this.#runs) / 60_000;
    return {
      ...summary,
      frozenShare: this.#tally.frozenMsTotal / (this.runMs * this.#runs),
      runs: this.#runs,
      storedBytesPerMin: summary.storedBytes / minutes,
      compactionBytesPerMin: summary.compactionBytes / minutes,
    };
  }
}

/** Summarizes the records of one or more runs of `runMs` each (undefined when there are none). */
export function summarizeSim(runs: readonly (readonly CheckpointRecord[])[], runMs: number): SimSummary | undefined {
  const tally = new SimTally(runMs);
  for (const run of runs) {
    tally.startRun();
    for (const record of run) tally.add(record);
  }
  return tally.summary();
}
