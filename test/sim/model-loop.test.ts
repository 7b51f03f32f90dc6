// The simulator's driver (runModelLoop) and supervise() drive one LoopCycle: given the same model
// checkpointer and virtual clock they take the same checkpoints and write the same records, byte for byte,
// with compaction, retention, chain starts, bursts and noise in play. (test/sim/real-vs-sim.test.ts replays a
// real CRIU run through runModelLoop; this covers what a real run of 20 checkpoints does not reach.)
import { describe, expect, it } from 'vitest';
import type { ProbeSettings } from '../../src/loop/probe-rule.js';
import type { SupervisorSettings } from '../../src/loop/supervisor-deps.js';
import { supervise } from '../../src/loop/supervisor.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { createPolicy, type PolicySpec } from '../../src/policy/index.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { DEFAULT_COST } from '../../src/sim/default-cost.js';
import { modelCheckpointer } from '../../src/sim/model-checkpointer.js';
import { runModelLoop } from '../../src/sim/model-loop.js';
import { scheduleOfPhases } from '../../src/sim/rate.js';
import { DEFAULT_SIM_RETENTION } from '../../src/sim/simulate.js';
import { createWorkload } from '../../src/sim/workload.js';
import { BAND, PAGE } from './helpers.js';

const W = 16_384;
const DURATION_MS = 10 * 60_000;
const workload = () =>
  createWorkload({
    schedule: scheduleOfPhases(
      [
        { pagesPerSecond: 2000, durationMs: 20_000 },
        { pagesPerSecond: 200, durationMs: 20_000 },
      ],
      true,
    ),
    workingSetPages: W,
    noise: 0.2,
    bursts: { pagesPerSecond: 4000, durationMs: 200, everyMs: 10_000 },
    seed: 7,
  });

// Both drivers on fresh models; newChainEvery 8 without compaction makes chain starts along the way too.
// With `probe`, supervise() reads a per-tick probe (the model's reading at the clock's time) at every instant of
// its plan, while runModelLoop computes where those readings would end the wait: the same records still.
const PROBE: ProbeSettings = { minPeriodMs: 25, maxPeriodMs: 100, defer: true, target: 'geometric' };

async function bothDrivers(spec: PolicySpec, retention: SupervisorSettings['retention'], probe?: ProbeSettings) {
  const run = (): { clock: VirtualClock; deps: Parameters<typeof runModelLoop>[0]; records: CheckpointRecord[] } => {
    const clock = new VirtualClock();
    const policy = createPolicy(spec);
    const settings: SupervisorSettings = {
      band: BAND,
      policyKey: policy.kind,
      policy,
      retention,
      criu: { logLevel: 0, extraArgs: [], timeoutMs: Number.POSITIVE_INFINITY },
      failures: { maxConsecutive: 1, backoffInitialMs: 0, backoffMaxMs: 0 },
      probe,
    };
    const records: CheckpointRecord[] = [];
    const checkpointer = modelCheckpointer({
      workload: workload(),
      cost: DEFAULT_COST,
      clock,
      pageSize: PAGE,
      memoryPages: W,
      compaction: retention.compact === true,
      probe: probe === undefined ? undefined : { readShare: 0.5 },
    });
    const events = {
      info: () => undefined,
      warn: () => undefined,
      failure: () => undefined,
      record: (r: CheckpointRecord) => void records.push(r),
    };
    return {
      clock,
      records,
      deps: {
        checkpointer,
        clock,
        endMs: DURATION_MS,
        mode: 'sim',
        pageSize: PAGE,
        initialIntervalMs: 500,
        settings: () => settings,
        records: undefined,
        events,
      },
    };
  };
  const simulated = run();
  const taken = runModelLoop(simulated.deps);
  const supervised = run();
  const { deps, clock } = supervised;
  // The probe supervise() reads: the model's reading at the clock's time, at every instant of the plan.
  const model = deps.checkpointer.probe;
  const exit = await supervise({
    ...deps,
    probe:
      model === undefined
        ? undefined
        : { reset: () => model.reset(clock.now()), read: () => model.readingAt(clock.now()) },
    compactor: deps.checkpointer.compactor,
    target: { pid: 0, alive: () => clock.now() < DURATION_MS, exitStatus: () => '', exitCode: () => 0 },
    signal: new AbortController().signal,
  });
  return { taken, exit, simulated: simulated.records, supervised: supervised.records };
}

describe('the simulator and supervise() drive one loop', () => {
  it.each([
    ['predictive, compaction', { kind: 'predictive' } as const, DEFAULT_SIM_RETENTION],
    [
      'threshold, a new chain every 8',
      { kind: 'threshold' } as const,
      { ...DEFAULT_SIM_RETENTION, compact: false, newChainEvery: 8 },
    ],
  ])('%s: the same records, byte for byte', async (_name, spec, retention) => {
    const { taken, exit, simulated, supervised } = await bothDrivers(spec, retention);
    expect(exit.checkpoints).toBe(taken);
    expect(simulated.length).toBe(taken);
    expect(taken).toBeGreaterThan(500);
    // The run exercised what it is meant to: moves, chain starts or compactions, in band and out.
    expect(simulated.filter((r) => r.decision !== 'hold').length).toBeGreaterThan(20);
    expect(simulated.filter((r) => r.chain_start || r.compacted !== undefined).length).toBeGreaterThan(5);
    expect(simulated.map((r) => JSON.stringify(r))).toEqual(supervised.map((r) => JSON.stringify(r)));
  });

  it('with the dirty-size probe: the same records and probe triggers, byte for byte', async () => {
    const { taken, exit, simulated, supervised } = await bothDrivers(
      { kind: 'predictive' },
      DEFAULT_SIM_RETENTION,
      PROBE,
    );
    expect(exit.checkpoints).toBe(taken);
    expect(taken).toBeGreaterThan(500);
    expect(simulated.map((r) => JSON.stringify(r))).toEqual(supervised.map((r) => JSON.stringify(r)));
    // The probe did work: it started many checkpoints at the aim and some at lmin past the deadline.
    const triggers = new Map<string, number>();
    for (const r of simulated)
      if (r.probe !== null) triggers.set(r.probe.trigger, (triggers.get(r.probe.trigger) ?? 0) + 1);
    expect(triggers.get('aim')).toBeGreaterThan(taken / 4);
    expect(triggers.get('floor')).toBeGreaterThan(0);
  });
});
