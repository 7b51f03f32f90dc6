// One loop for real and simulated runs: a real CRIU run (mode delta, predictive policy, 20 checkpoints: supervise())
// is replayed through the simulator (its driver, runModelLoop, and its checkpointer: a workload model that dirties
// what CRIU found) on a virtual clock, and every decision must come out identical: same decision, same next
// interval, same reason sentence, byte for byte.

import { afterEach, describe, expect, it } from 'vitest';
import { pageSize } from '../../src/criu/probe.js';
import type { Clock } from '../../src/loop/clock.js';
import type { Observation, Policy } from '../../src/model/policy.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { createPolicy } from '../../src/policy/index.js';
import { modelCheckpointer } from '../../src/sim/model-checkpointer.js';
import { runModelLoop } from '../../src/sim/model-loop.js';
import type { Workload } from '../../src/sim/workload.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { superviseFor, testSettings } from '../helpers/supervise.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';
import { FREE } from './helpers.js';

const MiB = 2 ** 20;
let workload: TestWorkload | undefined;
afterEach(async () => {
  await workload?.stop();
  workload = undefined;
});

// A virtual clock whose sleeps end where the real run's did: the real loop's timers woke a little late, and
// the decisions depend on the elapsed times actually seen (exact, as the policy was shown them).
class ReplayClock implements Clock {
  #now = 0;
  #next = 0;
  constructor(private readonly startsMs: readonly number[]) {}

  now(): number {
    return this.#now;
  }

  wallNowMs(): number {
    return this.#now;
  }

  advance(ms: number): void {
    this.#now += ms;
  }

  sleep(): void {
    this.#now = Math.max(this.startsMs[this.#next++] ?? this.#now, this.#now);
  }
}

describe('the simulator and the real loop', () => {
  it('take identical decisions for the same observations', async () => {
    const criu = await testCriu();
    const size = await pageSize();
    workload = await startWorkload(['--mib', '32', '--phases', '6000:2,400:2', '--report-ms', '50']);
    const band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 100, maxMs: 2000 };
    const policySpec = { kind: 'predictive' as const };
    // The real run's policy also notes each observation exactly as it was shown (records round times to µs).
    const shown: Observation[] = [];
    const inner = createPolicy(policySpec);
    const watched: Policy = {
      kind: inner.kind,
      initialState: () => inner.initialState(),
      // A copy: the loop rewrites one observation for every checkpoint.
      decide: (state, o, b) => (shown.push({ ...o }), inner.decide(state, o, b)),
    };
    const realSettings = () =>
      testSettings(band, {
        policyKey: 'predictive',
        policy: watched,
        retention: { keep: 1000, newChainEvery: 1000, maxChainBytes: undefined },
      });
    const all = (
      await superviseFor({
        criu,
        pid: workload.pid,
        root: await imagesDir(),
        count: 20,
        initialIntervalMs: 300,
        pageSize: size,
        mode: 'delta',
        settings: realSettings,
      })
    ).records;
    // A CRIU run that failed under load (a gap in seq) starts a new chain the model cannot know of: the
    // replay covers the checkpoints before it.
    const gap = all.findIndex((r, i) => i > 0 && r.seq !== all[i - 1]!.seq + 1);
    const real = gap === -1 ? all : all.slice(0, gap);
    expect(real.length).toBeGreaterThanOrEqual(10);
    expect(real[0]!.chain_start).toBe(true);
    expect(shown.map((o) => o.seq).slice(0, real.length - 1)).toEqual(real.slice(1).map((r) => r.seq));

    // The same observations for the simulator: checkpoint k starts at the sum of the elapsed times shown,
    // and the workload model dirties exactly the pages the real checkpoint found.
    const starts = [0];
    for (const o of shown.slice(0, real.length - 1)) starts.push(starts.at(-1)! + o.elapsedMs);
    const pagesAt = new Map(starts.map((t, i) => [t, real[i]!.pages_written]));
    const recorded: Workload = {
      pages: (_t0, t1) => pagesAt.get(t1)!,
      workingSetPages: Number.POSITIVE_INFINITY,
      naturalDurationMs: undefined,
      description: 'the real run',
    };
    const clock = new ReplayClock(starts);
    const settings = () =>
      testSettings(band, {
        policyKey: 'predictive',
        policy: createPolicy(policySpec),
        retention: { keep: 1000, newChainEvery: 1000, maxChainBytes: undefined },
      });
    const replayed: CheckpointRecord[] = [];
    const controller = new AbortController();
    runModelLoop({
      // The model's chain start writes the whole memory: the real chain start's page count.
      checkpointer: modelCheckpointer({
        workload: recorded,
        cost: FREE,
        clock,
        pageSize: size,
        memoryPages: real[0]!.pages_written,
      }),
      mode: 'sim',
      pageSize: size,
      initialIntervalMs: 300,
      endMs: Number.POSITIVE_INFINITY,
      settings,
      records: undefined,
      clock,
      signal: controller.signal,
      events: {
        info: () => undefined,
        warn: () => undefined,
        failure: () => undefined,
        record(record) {
          replayed.push(record);
          if (replayed.length === real.length) controller.abort();
        },
      },
    });

    expect(replayed).toHaveLength(real.length);
    const moves = real.filter((r) => r.decision !== 'hold').length;
    expect(moves).toBeGreaterThanOrEqual(2); // the phases made the policy work: this is not a run of holds
    for (const [i, r] of real.entries()) {
      const s = replayed[i]!;
      expect(s.pages_written, `seq ${r.seq}`).toBe(r.pages_written);
      expect(
        { decision: s.decision, next: s.next_interval_ms, reason: s.reason, chain_start: s.chain_start },
        `seq ${r.seq}`,
      ).toEqual({
        decision: r.decision,
        next: r.next_interval_ms,
        reason: r.reason,
        chain_start: r.chain_start,
      });
    }
  }, 60_000);
});
