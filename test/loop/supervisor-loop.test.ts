// The supervisor loop's own rules, without root: a scripted checkpointer and the virtual clock stand in for
// CRIU and time (the real-CRIU behaviour is tested in supervisor.test.ts and supervisor-delta.test.ts).

import { describe, expect, it } from 'vitest';
import type { StoredCheckpoint } from '../../src/store/chain.js';
import type { CheckpointRequest, CheckpointResult, Checkpointer } from '../../src/loop/checkpointer.js';
import { checkpointName } from '../../src/store/checkpoints.js';
import type { SupervisorExit, SupervisorSettings } from '../../src/loop/supervisor-deps.js';
import { backoffMs, supervise } from '../../src/loop/supervisor.js';
import type { Band, Observation, Policy } from '../../src/model/policy.js';
import type { CheckpointRecord, RecordMode } from '../../src/model/record.js';
import { ThresholdPolicy } from '../../src/policy/index.js';
import { VirtualClock } from '../../src/sim/clock.js';

const MiB = 2 ** 20;
const PAGE = 4096;
const BAND: Band = { lminBytes: 1 * MiB, lmaxBytes: 4 * MiB, minMs: 100, maxMs: 2000 };

interface Take {
  request: CheckpointRequest;
  atMs: number;
}

// A checkpointer that follows a script: outcome(n) for the n-th take (1-based): pages written, or a failure.
function scripted(
  clock: VirtualClock,
  outcome: (n: number, request: CheckpointRequest) => number | 'fail',
  options: { stored?: StoredCheckpoint[]; previous?: StoredCheckpoint } = {},
) {
  const takes: Take[] = [];
  const removed: string[] = [];
  const checkpointer: Checkpointer = {
    open: async () => ({ stored: [...(options.stored ?? [])], previous: options.previous }),
    async take(request): Promise<CheckpointResult> {
      // A copy: the loop rewrites one request for each checkpoint.
      takes.push({ request: { ...request }, atMs: clock.now() });
      clock.advance(10);
      const pages = outcome(takes.length, request);
      if (pages === 'fail')
        return { ok: false, criuWallMs: 10, reason: 'criu dump exited with 1', logTail: 'Error (criu): scripted' };
      const stored = {
        seq: request.seq,
        name: checkpointName(request.seq),
        parentSeq: request.parent?.seq,
        sizeBytes: pages * PAGE,
      };
      const stats = {
        freezing_time: 0,
        frozen_time: 1000,
        memdump_time: 0,
        memwrite_time: 0,
        pages_scanned: 4096,
        pages_skipped_parent: 0,
        pages_written: pages,
      };
      return { ok: true, stored, dir: `/scripted/${stored.name}`, stats, criuWallMs: 10, delta: undefined };
    },
    async remove(checkpoints) {
      removed.push(...checkpoints.map((c) => c.name));
    },
  };
  return { checkpointer, takes, removed };
}

// A threshold policy that also counts what it was shown.
function counting(): { policy: Policy; seen: Observation[] } {
  const inner = new ThresholdPolicy();
  const seen: Observation[] = [];
  return {
    seen,
    policy: {
      kind: 'threshold',
      initialState: () => undefined,
      // A copy: the loop rewrites one observation for every checkpoint.
      decide: (_state, observation, band) => (
        seen.push({ ...observation }),
        inner.decide(undefined, observation, band)
      ),
    },
  };
}

function settings(policy: Policy, overrides: Partial<SupervisorSettings> = {}): SupervisorSettings {
  return {
    band: BAND,
    policyKey: 'threshold',
    policy,
    retention: { keep: 100, newChainEvery: 100, maxChainBytes: undefined },
    criu: { logLevel: 2, extraArgs: [], timeoutMs: 1000 },
    failures: { maxConsecutive: 5, backoffInitialMs: 100, backoffMaxMs: 250 },
    ...overrides,
  };
}

// Runs the loop until `count` records (or its own exit), returning both.
async function run(options: {
  clock: VirtualClock;
  checkpointer: Checkpointer;
  settings: () => SupervisorSettings;
  count: number;
  mode?: RecordMode;
  onRecord?: (record: CheckpointRecord) => void;
}): Promise<{ exit: SupervisorExit; records: CheckpointRecord[]; failures: string[]; infos: string[] }> {
  const controller = new AbortController();
  const records: CheckpointRecord[] = [];
  const failures: string[] = [];
  const infos: string[] = [];
  const exit = await supervise({
    checkpointer: options.checkpointer,
    mode: options.mode ?? 'dump',
    pageSize: PAGE,
    initialIntervalMs: 400,
    target: { pid: 1, alive: async () => true, exitStatus: () => 'alive', exitCode: () => undefined },
    settings: options.settings,
    records: undefined,
    clock: options.clock,
    signal: controller.signal,
    events: {
      info: (message) => infos.push(message),
      warn: () => undefined,
      failure: (_seq, message) => failures.push(message),
      record(record) {
        records.push(record);
        options.onRecord?.(record);
        if (records.length >= options.count) controller.abort();
      },
    },
  });
  return { exit, records, failures, infos };
}

describe('supervisor loop (scripted checkpointer, virtual clock)', () => {
  it('backs off exponentially after failures, up to the maximum, and starts a new chain after one', async () => {
    const clock = new VirtualClock();
    const { checkpointer, takes } = scripted(clock, (n) => (n >= 2 && n <= 5 ? 'fail' : 1000));
    const { records, failures } = await run({
      clock,
      checkpointer,
      settings: () => settings(new ThresholdPolicy()),
      count: 3,
    });
    expect(failures).toHaveLength(4);
    expect(failures[0]).toMatch(/^checkpoint 2 failed \(1 in a row\): criu dump exited with 1/);
    // Each retry waits initial × 2^(n−1) after the failed attempt ended (10 ms each): 100, 200, 250, 250.
    const gaps = takes.slice(2, 6).map((t, i) => t.atMs - (takes[i + 1]!.atMs + 10));
    expect(gaps).toEqual([100, 200, 250, 250]);
    expect([1, 2, 3, 4].map((n) => backoffMs(n, settings(new ThresholdPolicy()).failures))).toEqual([
      100, 200, 250, 250,
    ]);
    // The first success after failures starts a new chain: no parent, and it is not shown to the policy.
    expect(takes[5]!.request.parent).toBeUndefined();
    expect(records[1]).toMatchObject({ seq: 6, chain_start: true, decision: 'hold' });
    expect(takes[6]!.request.parent?.seq).toBe(6);
  });

  it('gives up after failures.max_consecutive failures in a row', async () => {
    const clock = new VirtualClock();
    const { checkpointer } = scripted(clock, () => 'fail');
    const { exit, failures } = await run({
      clock,
      checkpointer,
      settings: () =>
        settings(new ThresholdPolicy(), { failures: { maxConsecutive: 3, backoffInitialMs: 5, backoffMaxMs: 5 } }),
      count: 10,
    });
    expect(exit).toMatchObject({ reason: 'failures', checkpoints: 0 });
    expect((exit as { message: string }).message).toMatch(
      /^3 checkpoints failed in a row; last: criu dump exited with 1\nError \(criu\): scripted/,
    );
    expect(failures).toHaveLength(3);
  });

  it('starts a chain every new_chain_every links and deletes only what no kept checkpoint needs', async () => {
    const clock = new VirtualClock();
    const { checkpointer, takes, removed } = scripted(clock, () => 2000);
    const { records } = await run({
      clock,
      checkpointer,
      settings: () =>
        settings(new ThresholdPolicy(), { retention: { keep: 2, newChainEvery: 3, maxChainBytes: undefined } }),
      count: 8,
    });
    expect(records.map((r) => r.chain_start)).toEqual([true, false, false, true, false, false, true, false]);
    expect(takes.map((t) => t.request.parent?.seq ?? null)).toEqual([null, 1, 2, null, 4, 5, null, 7]);
    // Keeping the 2 newest: 5 and 6 need 4, so 1..3 go once 5 exists; 4..6 only once 8 needs just 7.
    expect(removed).toEqual(['00000001', '00000002', '00000003', '00000004', '00000005', '00000006']);
    expect(records.map((r) => r.parent)).toEqual([
      null,
      '00000001',
      '00000002',
      null,
      '00000004',
      '00000005',
      null,
      '00000007',
    ]);
  });

  it('does not show the policy a chain start or the first checkpoint of a run continuing a chain; mode full shows every one', async () => {
    const previous = { seq: 7, name: checkpointName(7), parentSeq: undefined, sizeBytes: 1 };
    const clock = new VirtualClock();
    const continuing = scripted(clock, () => 2000, { stored: [previous], previous });
    const watched = counting();
    const { records } = await run({
      clock,
      checkpointer: continuing.checkpointer,
      settings: () => settings(watched.policy),
      count: 3,
    });
    expect(records[0]).toMatchObject({
      seq: 8,
      chain_start: false,
      parent: '00000007',
      elapsed_ms: null,
      decision: 'hold',
      next_interval_ms: 400,
    });
    expect(records[0]!.reason).toMatch(
      /^first checkpoint of this run: the pages it holds were dirtied over an unknown time; interval held/,
    );
    expect(watched.seen.map((o) => o.seq)).toEqual([9, 10]);

    const full = scripted(new VirtualClock(), () => 2000);
    const fullPolicy = counting();
    const fullRun = await run({
      clock: new VirtualClock(),
      checkpointer: full.checkpointer,
      settings: () => settings(fullPolicy.policy),
      count: 2,
      mode: 'full',
    });
    expect(fullRun.records.map((r) => r.chain_start)).toEqual([false, false]);
    expect(fullPolicy.seen.map((o) => o.seq)).toEqual([1, 2]);
    expect(full.takes.every((t) => t.request.parent === undefined)).toBe(true);
  });

  it('a reload takes effect at the next checkpoint: the new band is used and recorded, a new policy starts fresh', async () => {
    const clock = new VirtualClock();
    const { checkpointer } = scripted(clock, (n) => (n === 1 ? 8192 : 512)); // 2 MiB: in [1, 4] MiB, not in [3, 6] MiB
    let current = settings(new ThresholdPolicy());
    const { records, infos } = await run({
      clock,
      checkpointer,
      settings: () => current,
      count: 4,
      onRecord: (record) => {
        if (record.seq === 2)
          current = { ...current, band: { ...BAND, lminBytes: 3 * MiB, lmaxBytes: 6 * MiB, maxMs: 300 } };
        if (record.seq === 3)
          current = { ...current, policyKey: 'threshold grow 2', policy: new ThresholdPolicy({ grow: 2 }) };
      },
    });
    expect(records[1]).toMatchObject({
      decision: 'hold',
      band: { lmin_bytes: 1 * MiB, lmax_bytes: 4 * MiB, max_ms: 2000 },
    });
    // The new band: 2 MiB is below lmin 3 MiB, so grow; but max is now 300 ms, under the 400 ms in force.
    expect(records[2]).toMatchObject({
      band: { lmin_bytes: 3 * MiB, lmax_bytes: 6 * MiB, max_ms: 300 },
      next_interval_ms: 300,
    });
    expect(records[2]!.reason).toMatch(/already at max|was above max/);
    expect(infos).toContain('policy changed to threshold grow 2: starting it from a fresh state');
    expect(records[3]!.reason).toMatch(/size 2\.0 MiB < lmin 3\.0 MiB/);
  });
});
