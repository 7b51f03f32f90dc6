import { dirname } from 'node:path';
import { asFailedAttempt, removeQuietly, type CheckpointResult } from './checkpointer.js';
import { CompactionForBackup } from './compaction-for-backup.js';
import { Compactor, type CompactionRunner } from './compactor.js';
import { LoopCycle } from './cycle.js';
import { drive, isThenable, settled, type MaybePromise, type Steps } from './drive.js';
import { nextInstant, noteReading, triggerAt } from './probe-rule.js';
import type { SupervisorDeps, SupervisorExit } from './supervisor-deps.js';
import { errorMessage } from '../fs/error-code.js';

/**
 * The adaptive checkpoint loop: wait until due → checkpoint → read stats → ask the policy → record.
 * Deciding is LoopCycle's (cycle.ts); this function only carries decisions out, through the injected
 * checkpointer and clock. The simulator drives the same LoopCycle (src/sim/model-loop.ts).
 */
export function supervise(deps: SupervisorDeps): Promise<SupervisorExit> {
  return drive(supervisorSteps(deps));
}

// The loop itself: the I/O around the cycle's decisions. Each `yield` waits like `await` for a promise
// (drive.ts); only promises are yielded, so a run whose checkpointer and clock answer at once never leaves
// this function until it ends.
function* supervisorSteps(deps: SupervisorDeps): Steps<SupervisorExit> {
  const { clock, events, target, signal, checkpointer } = deps;
  const opening = checkpointer.open();
  const opened = isThenable(opening) ? yield* settled(opening) : opening;
  // Deleting old checkpoints runs while the loop sleeps; it must finish before the next checkpoint starts.
  let retention: MaybePromise<void> | undefined;
  // Compaction runs while the loop sleeps too, but may take several intervals: it is paused, not awaited.
  const compactor: CompactionRunner | undefined =
    deps.compactor ??
    (deps.mode === 'delta' && checkpointer.compact !== undefined
      ? new Compactor(checkpointer.compact.bind(checkpointer))
      : undefined);
  const cycle = new LoopCycle({ ...deps, compacting: compactor !== undefined }, opened, clock.now());
  // While `remusd ship` is behind, compaction flattens only links the backup holds.
  const forBackup = deps.backupHolds === undefined ? undefined : new CompactionForBackup(deps.backupHolds, events);
  // The dirty-size probe, until a reading fails (then the loop waits for the interval, with a warning).
  let probe = deps.probe;
  // Once CRIU has let go of the workload: compaction resumes, the inbound hold ends, and the probe's accessed
  // bits are cleared (CRIU's walk over the pages set them all). One closure per run.
  const onDumped = () => {
    compactor?.resume();
    let resetting: MaybePromise<void> | undefined;
    if (probe !== undefined && cycle.probing) {
      cycle.probeReset(clock.now());
      resetting = resetProbe(probe);
    }
    const releasing = deps.output?.afterDump();
    return isThenable(resetting) ? Promise.all([resetting, releasing]).then(() => undefined) : releasing;
  };
  const resetProbe = (p: NonNullable<typeof probe>) => {
    try {
      const resetting = p.reset();
      return isThenable(resetting) ? Promise.resolve(resetting).catch(() => undefined) : resetting;
    } catch {
      return undefined; // the next read fails the same way, and says why
    }
  };
  try {
    while (!signal.aborted) {
      compactor?.resume();
      const plan = probe === undefined ? undefined : cycle.probePlan(clock.now());
      if (plan === undefined || probe === undefined) {
        const sleeping = clock.sleep(cycle.nextStartAtMs - clock.now(), signal);
        if (isThenable(sleeping)) yield sleeping;
      } else {
        // Read at each instant of the plan until the rule says start (never later than its latest instant).
        for (let at = plan.beganMs; !signal.aborted;) {
          at = nextInstant(plan, at);
          const sleeping = clock.sleep(at - clock.now(), signal);
          if (isThenable(sleeping)) yield sleeping;
          let reading: number;
          const readAtMs = clock.now();
          try {
            const read = probe.read();
            reading = isThenable(read) ? yield* settled(read) : read;
          } catch (error) {
            const alive = target.alive();
            if (!(isThenable(alive) ? yield* settled(alive) : alive)) return cycle.exited(target);
            events.warn(
              `dirty-size probe failed, waiting for the policy's interval from now on: ${errorMessage(error)}`,
            );
            probe = undefined;
            const rest = clock.sleep(cycle.nextStartAtMs - clock.now(), signal);
            if (isThenable(rest)) yield rest;
            break;
          }
          const readMs = clock.now();
          // Bound the probe's cost: no reading in the PROBE_REST_FACTOR× the last one took (smaps walks every
          // page table entry: 4-95 ms for 64 MiB on this loaded machine, ~0 in a simulation). The next reading
          // then ends about as long after it starts as this one did: the rule compares starting now with then.
          const readingMs = readMs - readAtMs;
          const restedMs = Math.max(at, readMs + PROBE_REST_FACTOR * readingMs);
          const trigger = triggerAt(plan, readMs, reading, nextInstant(plan, restedMs) + readingMs);
          if (trigger !== undefined) {
            cycle.probeStart(trigger, reading, readMs);
            break;
          }
          noteReading(plan, readMs, reading);
          at = restedMs;
        }
      }
      // Output commit by the backup's ack: not while more than one checkpoint awaits it (Remus' pacing).
      const pacing = deps.output?.paced?.(deps.settings().band.maxMs);
      if (isThenable(pacing)) yield pacing;
      if (isThenable(retention)) yield retention;
      retention = undefined;
      // Never while the workload is frozen: held from here until CRIU has let go of it.
      const pausing = compactor?.pause();
      if (isThenable(pausing)) yield pausing;
      cycle.compactionEnded(compactor?.takeOutcome());
      if (signal.aborted) break;
      const alive = target.alive();
      if (!(isThenable(alive) ? yield* settled(alive) : alive)) return cycle.exited(target);

      const request = cycle.begin(clock.now(), clock.wallNowMs(), onDumped);
      // The barrier comes first: output sent once CRIU may have started belongs to the next epoch.
      if (deps.output !== undefined) yield deps.output.beforeDump(request.seq);
      let result: CheckpointResult;
      try {
        const taking = checkpointer.take(request);
        result = isThenable(taking) ? yield* settled(taking) : taking;
      } catch (error) {
        result = asFailedAttempt(error);
      }
      // However the attempt ended, the workload's input is never left held (afterDump is idempotent).
      if (deps.output !== undefined) yield deps.output.afterDump();

      if (!result.ok) {
        const stillAlive = target.alive();
        if (!(isThenable(stillAlive) ? yield* settled(stillAlive) : stillAlive)) return cycle.exited(target);
        const exit = cycle.failed(result, clock.now());
        if (exit !== undefined) return exit;
        continue;
      }
      if (deps.mayPublish?.() === false) {
        // The checkpointer has pointed latest at it already; removing it would leave latest dangling (and the
        // shipper retrying a missing checkpoint). Its dump began before the fence; no other starts.
        events.warn(`checkpoint ${result.stored.name} finished after the fence; no checkpoint starts after it`);
        break;
      }
      const doomed = cycle.taken(result, clock.now());
      // fsync and release (output commit) are part of making the checkpoint safe: counted as remusd's overhead.
      const outputFields =
        deps.output === undefined
          ? undefined
          : yield* settled(deps.output.afterCheckpoint(request.seq, dirname(result.dir), result.dir));
      cycle.finish(clock.now(), outputFields);
      if (doomed.length > 0) retention = removeQuietly(checkpointer, doomed, events);
      // The next compaction, if the chain is long enough and none runs.
      const due = compactor === undefined || compactor.busy ? undefined : cycle.nextCompaction();
      const flatten = due === undefined || forBackup === undefined ? due : forBackup.choose(cycle, due);
      if (flatten !== undefined) compactor?.start(flatten);
    }
    if (isThenable(retention)) yield retention;
    return { reason: 'stopped', checkpoints: cycle.checkpoints };
  } finally {
    // A compaction in progress is abandoned at its next step: its copy is removed, its chain left as it was.
    const stopping = compactor?.stop();
    if (isThenable(stopping)) yield stopping;
  }
}

/** After each reading the probe rests this many times as long as the reading took: ≤ 20 % of a core at most. */
const PROBE_REST_FACTOR = 4;

/** The wait after the n-th failure in a row (n ≥ 1): in cycle.ts, with the rest of the loop's decisions. */
export { backoffMs } from './cycle.js';
