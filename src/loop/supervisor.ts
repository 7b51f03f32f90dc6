import { dirname } from 'node:path';
import type { CheckpointFacts, CheckpointRecord } from '../model/record.js';
import { pagesSizeBytes } from '../model/stats.js';
import { compactionTarget, parentFor, removable, type ChainRules, type StoredCheckpoint } from '../store/chain.js';
import { asFailedAttempt, removeQuietly, type CheckpointResult } from './checkpointer.js';
import { Compactor, type CompactionRunner } from './compactor.js';
import { drive, isThenable, settled, type MaybePromise, type Steps } from './drive.js';
import type { SupervisorDeps, SupervisorExit, SupervisorSettings } from './supervisor-deps.js';
import { step, unmeasured, type LoopState } from './step.js';
import { checkpointRecord, round } from './checkpoint-record.js';

/**
 * The adaptive checkpoint loop: wait until due → checkpoint → read stats → ask the policy → record.
 * Deciding is the pure `step`; this function only carries decisions out, through the injected checkpointer
 * and clock, so `remusd run` and `remusd simulate` run this same code.
 */
export function supervise(deps: SupervisorDeps): Promise<SupervisorExit> {
  return drive(supervisorSteps(deps));
}

// The loop itself. Each `yield` waits like `await` for a promise (drive.ts). In the checkpoint loop only
// promises are yielded, so a simulation (plain values throughout) never leaves this function until it ends:
// yielding plain values too cost a generator round trip each, 5 per checkpoint.
function* supervisorSteps(deps: SupervisorDeps): Steps<SupervisorExit> {
  const { clock, events, target, signal, checkpointer } = deps;
  const wantRecords = deps.records !== undefined || events.record !== undefined;
  const opening = checkpointer.open();
  const opened = isThenable(opening) ? yield* settled(opening) : opening;
  let stored: StoredCheckpoint[] = opened.stored;
  let previous = opened.previous;
  let seq = stored.reduce((max, c) => Math.max(max, c.seq), 0);
  let settings = deps.settings();
  let policyKey = settings.policyKey;
  let state: LoopState = { intervalMs: deps.initialIntervalMs, policyState: settings.policy.initialState() };
  let nextStartAtMs = clock.now();
  let lastStartAtMs: number | undefined;
  let consecutiveFailures = 0;
  let checkpoints = 0;
  // Deleting old checkpoints runs while the loop sleeps; it must finish before the next checkpoint starts.
  let retention: MaybePromise<void> | undefined;
  // Compaction runs while the loop sleeps too, but may take several intervals: it is paused, not awaited.
  const compactor: CompactionRunner | undefined =
    deps.compactor ??
    (deps.mode === 'delta' && checkpointer.compact !== undefined
      ? new Compactor(checkpointer.compact.bind(checkpointer))
      : undefined);
  let compacted: CheckpointRecord['compacted'];
  // One facts object, rewritten for each checkpoint (SupervisorEvents.facts): its numbers then change in place
  // and a simulated checkpoint allocates nothing for them.
  const facts: CheckpointFacts = {
    seq: 0,
    startMs: 0,
    band: settings.band,
    chainStart: false,
    intervalMs: 0,
    nextIntervalMs: 0,
    elapsedMs: null,
    decision: 'hold',
    pagesWritten: 0,
    sizeBytes: 0,
    frozenUs: 0,
    criuWallMs: 0,
    supervisorOverheadMs: 0,
    overrun: false,
    compactedBytes: null,
  };
  // Once CRIU has let go of the workload: compaction resumes and the inbound hold ends (one closure per run).
  const onDumped = () => {
    compactor?.resume();
    return deps.output?.afterDump();
  };
  // The chain rules of the settings in force (made again only when a reload changes them).
  let rulesOf: SupervisorSettings | undefined;
  let rules: ChainRules = settings.retention;
  // No closure here names a variable the loop changes: those would live in a context, a boxed number each.
  const exited = (count: number) => ({
    reason: 'workload-exited' as const,
    checkpoints: count,
    status: target.exitStatus(),
    exitCode: target.exitCode(),
  });
  try {
    while (!signal.aborted) {
      compactor?.resume();
      const sleeping = clock.sleep(nextStartAtMs - clock.now(), signal);
      if (isThenable(sleeping)) yield sleeping;
      if (isThenable(retention)) yield retention;
      retention = undefined;
      // Never while the workload is frozen: held from here until CRIU has let go of it.
      const pausing = compactor?.pause();
      if (isThenable(pausing)) yield pausing;
      const finished = compactor?.takeOutcome();
      if (finished?.ok === true) {
        stored = replaced(stored, finished.compacted);
        compacted = {
          name: finished.target.name,
          links: finished.links,
          bytes_written: finished.bytesWritten,
          ms: round(finished.elapsedMs),
        };
        events.info(
          `compacted ${compacted.name}: ${compacted.links} links flattened into a base (${compacted.bytes_written} bytes written, ${compacted.ms} ms)`,
          {
            checkpoint: compacted.name,
            links: compacted.links,
            bytes_written: compacted.bytes_written,
          },
        );
      } else if (finished !== undefined) {
        events.warn(`could not compact ${finished.target.name} (its chain is left as it was): ${finished.reason}`, {
          checkpoint: finished.target.name,
        });
      }
      if (signal.aborted) break;
      const alive = target.alive();
      if (!(isThenable(alive) ? yield* settled(alive) : alive)) return exited(checkpoints);

      settings = deps.settings();
      if (settings.policyKey !== policyKey) {
        events.info(`policy changed to ${settings.policyKey}: starting it from a fresh state`);
        policyKey = settings.policyKey;
        state = { ...state, policyState: settings.policy.initialState() };
      }
      const startedAtMs = clock.now();
      const startedWallMs = clock.wallNowMs();
      seq += 1;
      if (rulesOf !== settings) {
        rulesOf = settings;
        rules = {
          ...settings.retention,
          compactAt:
            compactor !== undefined && settings.retention.compact === true ? settings.retention.compactAt : undefined,
        };
      }
      const { compactAt } = rules;
      const chain = deps.mode === 'full' ? FULL_DUMP : parentFor(stored, previous, rules);
      // The barrier comes first: output sent once CRIU may have started belongs to the next epoch.
      if (deps.output !== undefined) yield deps.output.beforeDump(seq);
      let result: CheckpointResult;
      try {
        const taking = checkpointer.take({
          seq,
          parent: chain.parent,
          logLevel: settings.criu.logLevel,
          extraArgs: settings.criu.extraArgs,
          timeoutMs: settings.criu.timeoutMs,
          onDumped,
        });
        result = isThenable(taking) ? yield* settled(taking) : taking;
      } catch (error) {
        result = asFailedAttempt(error);
      }
      // However the attempt ended, the workload's input is never left held (afterDump is idempotent).
      if (deps.output !== undefined) yield deps.output.afterDump();

      if (!result.ok) {
        const stillAlive = target.alive();
        if (!(isThenable(stillAlive) ? yield* settled(stillAlive) : stillAlive)) return exited(checkpoints);
        consecutiveFailures += 1;
        previous = undefined; // the chain's dirty tracking may be inconsistent now: start a new one
        events.failure(
          seq,
          `checkpoint ${seq} failed (${consecutiveFailures} in a row): ${result.reason}`,
          result.logTail,
        );
        if (consecutiveFailures >= settings.failures.maxConsecutive) {
          return {
            reason: 'failures',
            checkpoints,
            message: `${consecutiveFailures} checkpoints failed in a row; last: ${result.reason}\n${result.logTail}`,
          };
        }
        nextStartAtMs = clock.now() + backoffMs(consecutiveFailures, settings.failures);
        continue;
      }
      consecutiveFailures = 0;
      if (deps.mayPublish?.() === false) {
        // The checkpointer has pointed latest at it already; removing it would leave latest dangling (and the
        // shipper retrying a missing checkpoint). Its dump began before the fence; no other starts.
        events.warn(`checkpoint ${result.stored.name} finished after the fence; no checkpoint starts after it`);
        break;
      }
      // The checkpoint is done: CRIU and, in delta mode, the rewrite.
      const doneAtMs = clock.now();
      const { delta } = result;
      const deltaMs = delta?.elapsedMs ?? 0;
      const elapsedMs = lastStartAtMs === undefined ? undefined : startedAtMs - lastStartAtMs;
      // What this checkpoint had to store: CRIU's count, or in delta mode the pages that changed (shared
      // memory stays as CRIU wrote it, so its pages count in full).
      const pagesWritten = delta === undefined ? result.stats.pages_written : delta.changedPages;
      const sizeBytes = pagesSizeBytes(pagesWritten, result.stats.shpages_written, deps.pageSize);
      const chainStart = deps.mode !== 'full' && result.stored.parentSeq === undefined;
      const outcome = step(
        settings.policy,
        state,
        {
          observation: {
            seq,
            intervalMs: state.intervalMs,
            elapsedMs: elapsedMs ?? state.intervalMs,
            sizeBytes,
            pagesWritten: pagesWritten + (result.stats.shpages_written ?? 0),
            frozenUs: result.stats.frozen_time,
            pageSize: deps.pageSize,
          },
          unmeasured: unmeasured(deps.mode, chainStart, pagesWritten, elapsedMs === undefined),
          startedAtMs,
          finishedAtMs: doneAtMs,
        },
        settings.band,
      );
      stored.push(result.stored);
      previous = result.stored;
      const doomed = removable(stored, settings.retention.keep);
      if (doomed.length > 0) stored = without(stored, doomed);
      // fsync and release (output commit) are part of making the checkpoint safe: counted as remusd's overhead.
      const outputFields =
        deps.output === undefined
          ? undefined
          : yield* settled(deps.output.afterCheckpoint(seq, dirname(result.dir), result.dir));
      const finishedAtMs = clock.now();
      const { band } = settings;
      const supervisorOverheadMs = round(finishedAtMs - startedAtMs - result.criuWallMs - deltaMs);
      // The checkpoint's numbers, for summaries (events.facts) and the record alike.
      facts.seq = seq;
      facts.startMs = startedWallMs;
      facts.band = band;
      facts.chainStart = chainStart;
      facts.intervalMs = round(state.intervalMs);
      facts.nextIntervalMs = round(outcome.decision.nextIntervalMs);
      facts.elapsedMs = elapsedMs === undefined ? null : round(elapsedMs);
      facts.decision = outcome.decision.decision;
      facts.pagesWritten = pagesWritten;
      facts.sizeBytes = sizeBytes;
      facts.frozenUs = result.stats.frozen_time;
      facts.criuWallMs = round(result.criuWallMs);
      facts.supervisorOverheadMs = supervisorOverheadMs;
      facts.overrun = outcome.overrun;
      facts.compactedBytes = compacted === undefined ? null : compacted.bytes_written;
      events.facts?.(facts);
      if (wantRecords) {
        const reason = outcome.decision.reason;
        const more = {
          mode: deps.mode,
          policy: settings.policy.kind,
          reason,
          result,
          chain,
          deltaMs,
          compacted,
          outputFields,
        };
        const record = checkpointRecord(facts, more);
        deps.records?.append(record);
        events.record?.(record, band);
      }
      compacted = undefined;
      if (doomed.length > 0) retention = removeQuietly(checkpointer, doomed, events);
      // The next compaction, if the chain is long enough and none runs (links retention deletes are never targets:
      // the target is two links behind the newest, which keep() ≥ 1 keeps through its chain).
      if (compactAt !== undefined && compactor !== undefined && !compactor.busy) {
        const flatten = compactionTarget(stored, result.stored.seq, compactAt);
        if (flatten !== undefined) compactor.start(flatten);
      }
      checkpoints += 1;
      lastStartAtMs = startedAtMs;
      state = outcome.state;
      nextStartAtMs = outcome.nextStartAtMs;
    }
    if (isThenable(retention)) yield retention;
    return { reason: 'stopped', checkpoints };
  } finally {
    // A compaction in progress is abandoned at its next step: its copy is removed, its chain left as it was.
    const stopping = compactor?.stop();
    if (isThenable(stopping)) yield stopping;
  }
}

// The checkpoints with the one of the same seq replaced (by its compacted form).
function replaced(stored: readonly StoredCheckpoint[], compacted: StoredCheckpoint): StoredCheckpoint[] {
  return stored.map((c) => (c.seq === compacted.seq ? compacted : c));
}

// The checkpoints but the doomed ones.
function without(stored: readonly StoredCheckpoint[], doomed: readonly StoredCheckpoint[]): StoredCheckpoint[] {
  return stored.filter((c) => !doomed.includes(c));
}

// Mode full plans no chain.
const FULL_DUMP = Object.freeze({ parent: undefined, reason: 'full dump: no parent' });

/** The wait after the n-th failure in a row (n ≥ 1): initial × 2^(n−1), at most max. */
export function backoffMs(failuresInARow: number, failures: SupervisorSettings['failures']): number {
  return Math.min(failures.backoffInitialMs * 2 ** (failuresInARow - 1), failures.backoffMaxMs);
}
