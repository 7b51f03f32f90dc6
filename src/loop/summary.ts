import type { Band } from '../model/policy.js';
import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';
import { QuantileSketch } from './quantiles.js';
import { inBand } from './status-line.js';

/** What a run of checkpoints amounted to: the numbers a researcher compares policies by. */
export interface RunSummary {
  checkpoints: number;
  /** Share of all checkpoints whose size was in the band their decision was taken against. */
  inBandShare: number;
  overruns: number;
  intervalMs: { mean: number; min: number; max: number };
  sizeBytes: { median: number; p90: number; max: number };
  frozenMs: { median: number; p90: number; max: number };
  criuWallMs: { median: number };
  supervisorOverheadMs: { median: number; max: number };
  /** Checkpoints that started a chain (full size in an incremental mode). */
  chainStarts: number;
  /** Σ checkpoint sizes: what the checkpoints stored, and what `remusd ship` sends. */
  storedBytes: number;
  /** Compactions that finished, and the bytes they wrote (locally: neither frozen nor shipped). */
  compactions: number;
  compactionBytes: number;
}

/**
 * A run's summary, computed as records arrive, in constant memory (quantiles from QuantileSketch, within
 * ±0.25 %): a day of simulated checkpoints costs what ten do.
 */
export class RunTally {
  #checkpoints = 0;
  #inBand = 0;
  #overruns = 0;
  // These two sums start as -0, a double, and every checkpoint adds to them (-0 + 0 is +0): started as the small
  // integer 0, each was held as one until it passed 2³¹, and that threw the loop's optimized code away in the
  // middle of a run (frozen µs pass it after ~8 simulated hours: an "overflow" deopt, then recompiling). Not
  // #compactionBytes, which stays as it started in a run without compaction (-0 there would be a new answer).
  #frozenUsTotal = -0;
  #chainStarts = 0;
  #storedBytes = -0;
  #compactions = 0;
  #compactionBytes = 0;
  readonly #interval = new QuantileSketch();
  readonly #size = new QuantileSketch();
  readonly #frozen = new QuantileSketch();
  readonly #wall = new QuantileSketch();
  readonly #overhead = new QuantileSketch();

  /** Counts one record; `band` is the one its decision was taken against (default: the record's own). */
  add(record: CheckpointRecord, band: Band = bandOfRecord(record)): void {
    this.addFacts(factsOfRecord(record), band);
  }

  /** Counts one checkpoint's numbers; `band` as for add (default: the one in the facts). */
  addFacts(facts: CheckpointFacts, band: Band = facts.band): void {
    this.#checkpoints += 1;
    if (inBand(facts.sizeBytes, band)) this.#inBand += 1;
    if (facts.overrun) this.#overruns += 1;
    this.#frozenUsTotal += facts.frozenUs;
    if (facts.chainStart) this.#chainStarts += 1;
    this.#storedBytes += facts.sizeBytes;
    if (facts.compactedBytes !== null) {
      this.#compactions += 1;
      this.#compactionBytes += facts.compactedBytes;
    }
    this.#interval.add(facts.intervalMs);
    this.#size.add(facts.sizeBytes);
    this.#frozen.add(facts.frozenUs / 1000);
    this.#wall.add(facts.criuWallMs);
    this.#overhead.add(facts.supervisorOverheadMs);
  }

  /** Adds another tally's records (pooling runs). */
  merge(other: RunTally): void {
    this.#checkpoints += other.#checkpoints;
    this.#inBand += other.#inBand;
    this.#overruns += other.#overruns;
    this.#frozenUsTotal += other.#frozenUsTotal;
    this.#chainStarts += other.#chainStarts;
    this.#storedBytes += other.#storedBytes;
    this.#compactions += other.#compactions;
    this.#compactionBytes += other.#compactionBytes;
    this.#interval.merge(other.#interval);
    this.#size.merge(other.#size);
    this.#frozen.merge(other.#frozen);
    this.#wall.merge(other.#wall);
    this.#overhead.merge(other.#overhead);
  }

  /** Total frozen time of the records, ms. */
  get frozenMsTotal(): number {
    return this.#frozenUsTotal / 1000;
  }

  /** The summary so far (undefined before the first record). */
  summary(): RunSummary | undefined {
    if (this.#checkpoints === 0) return undefined;
    return {
      checkpoints: this.#checkpoints,
      inBandShare: this.#inBand / this.#checkpoints,
      overruns: this.#overruns,
      intervalMs: { mean: this.#interval.mean, min: this.#interval.min, max: this.#interval.max },
      sizeBytes: { median: this.#size.quantile(0.5), p90: this.#size.quantile(0.9), max: this.#size.max },
      frozenMs: { median: this.#frozen.quantile(0.5), p90: this.#frozen.quantile(0.9), max: this.#frozen.max },
      criuWallMs: { median: this.#wall.quantile(0.5) },
      supervisorOverheadMs: { median: this.#overhead.quantile(0.5), max: this.#overhead.max },
      chainStarts: this.#chainStarts,
      storedBytes: this.#storedBytes,
      compactions: this.#compactions,
      compactionBytes: this.#compactionBytes,
    };
  }
}

/** The band a record's decision was taken against, as the loop's Band. */
export function bandOfRecord(record: CheckpointRecord): Band {
  return {
    lminBytes: record.band.lmin_bytes,
    lmaxBytes: record.band.lmax_bytes,
    minMs: record.band.min_ms,
    maxMs: record.band.max_ms,
  };
}

/** A record's numbers (for summarizing and scoring records read back from a file). */
export function factsOfRecord(record: CheckpointRecord): CheckpointFacts {
  return {
    seq: record.seq,
    startMs: Date.parse(record.start),
    band: bandOfRecord(record),
    chainStart: record.chain_start,
    intervalMs: record.interval_ms,
    nextIntervalMs: record.next_interval_ms,
    elapsedMs: record.elapsed_ms ?? Number.NaN,
    decision: record.decision,
    pagesWritten: record.pages_written,
    sizeBytes: record.size_bytes,
    frozenUs: record.frozen_us,
    criuWallMs: record.criu_wall_ms,
    supervisorOverheadMs: record.supervisor_overhead_ms,
    overrun: record.overrun,
    compactedBytes: record.compacted?.bytes_written ?? null,
    probeTrigger: record.probe?.trigger ?? null,
  };
}

/** Summarizes records against a band (undefined when there are none). */
export function summarize(records: Iterable<CheckpointRecord>, band: Band): RunSummary | undefined {
  const tally = new RunTally();
  for (const record of records) tally.add(record, band);
  return tally.summary();
}
