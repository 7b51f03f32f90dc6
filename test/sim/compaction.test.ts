// Compaction in the simulator (src/sim/model-compactor.ts): the loop's own compaction rule, with merges that
// take modelled time on the virtual clock, held while the workload is frozen. What a run stores and ships
// then has no full-size checkpoint after the first, and the price is written locally.
import { describe, expect, it } from 'vitest';
import type { CheckpointRecord } from '../../src/model/record.js';
import { VirtualClock } from '../../src/sim/clock.js';
import { CheckpointPool, ModelCheckpoint } from '../../src/sim/model-checkpoint.js';
import { ModelCompactor } from '../../src/sim/model-compactor.js';
import { LiveCheckpoints } from '../../src/sim/model-store.js';
import { DEFAULT_SIM_RETENTION, runSimulation, simulate, type SimulationInput } from '../../src/sim/simulate.js';
import { SimTally } from '../../src/sim/summary.js';
import type { StoredCheckpoint } from '../../src/store/chain.js';
import { BAND, constantCost, MiB, PAGE, phased } from './helpers.js';

const W = 16_384; // 64 MiB of memory
const input = (extra: Partial<SimulationInput> = {}): SimulationInput => ({
  policy: { kind: 'fixed' },
  band: BAND,
  initialIntervalMs: 500,
  // ~3 MiB dirtied per 500 ms interval, well under the working set: each delta is ~3 MiB.
  workload: phased([[1500, 1000]], { workingSetPages: W }),
  // 30 ms frozen, 60 ms of CRIU, 40 ms of rewrite; a merge of 64 MiB then costs 40 ms + its pages.
  cost: { ...constantCost(30, 60, 40), rewrite: { baseMs: 40, perScannedPageUs: 1, perWrittenPageUs: 2 } },
  durationMs: 10 * 60_000,
  pageSize: PAGE,
  ...extra,
});
const withCompaction = (compact: boolean) => ({ ...DEFAULT_SIM_RETENTION, compact });
// The links of each record's chain when it was taken: its parent links, walked down to a chain start or to a
// link flattened into a base (a record names the compaction that finished before it).
function chainLengths(records: readonly CheckpointRecord[]): number[] {
  const parentOf = new Map<string, string | null>();
  return records.map((r) => {
    if (r.compacted !== undefined) parentOf.set(r.compacted.name, null);
    parentOf.set(String(r.seq).padStart(8, '0'), r.parent);
    let n = 1;
    for (let p: string | null | undefined = r.parent; p !== null && p !== undefined; p = parentOf.get(p)) n += 1;
    return n;
  });
}

describe('compaction in the simulator', () => {
  it('keeps chains short with no full-size checkpoint after the first: stored bytes within 10 % of the deltas', async () => {
    const records = await simulate(input({ retention: withCompaction(true) }));
    const starts = records.filter((r) => r.chain_start);
    expect(starts.map((r) => r.seq)).toEqual([1]);
    const compactions = records.filter((r) => r.compacted !== undefined);
    // compact_at 16 and the base two behind the newest: a base every 13 checkpoints.
    expect(compactions.length).toBeGreaterThanOrEqual(Math.floor((records.length - 16) / 13));
    for (const r of compactions)
      expect(r.compacted).toMatchObject({ links: expect.any(Number), bytes_written: W * PAGE });
    expect(Math.max(...chainLengths(records))).toBeLessThanOrEqual(DEFAULT_SIM_RETENTION.compactAt! + 1);
    // At steady state (after the first chain start), what is stored and shipped is the deltas themselves.
    const steady = records.filter((r) => r.seq > 1);
    const deltas = steady.reduce((sum, r) => sum + r.pages_written * PAGE, 0);
    const stored = steady.reduce((sum, r) => sum + r.size_bytes, 0);
    expect(stored).toBeLessThanOrEqual(1.1 * deltas);
  });

  it('negative control: without compaction, a full-size chain start every 20 checkpoints makes stored bytes ≥ 1.5× the deltas', async () => {
    const records = await simulate(input({ retention: withCompaction(false) }));
    expect(records.filter((r) => r.chain_start).length).toBeGreaterThanOrEqual(Math.floor(records.length / 20));
    expect(records.some((r) => r.compacted !== undefined)).toBe(false);
    const steady = records.filter((r) => r.seq > 1);
    const deltas = steady.filter((r) => !r.chain_start).reduce((sum, r) => sum + r.size_bytes, 0);
    expect(steady.reduce((sum, r) => sum + r.size_bytes, 0)).toBeGreaterThanOrEqual(1.5 * deltas);
  });

  it('summaries count chain starts, compactions and bytes per minute as the run goes', async () => {
    const summaryOf = async (compact: boolean) => {
      const tally = new SimTally(10 * 60_000);
      tally.startRun();
      await runSimulation(input({ retention: withCompaction(compact) }), undefined, (facts) => tally.addFacts(facts));
      return tally.summary()!;
    };
    const on = await summaryOf(true);
    const off = await summaryOf(false);
    expect(on).toMatchObject({ chainStarts: 1, compactionBytes: on.compactions * W * PAGE });
    expect(on.compactions).toBeGreaterThan(50);
    expect(off).toMatchObject({ compactions: 0, compactionBytes: 0, compactionBytesPerMin: 0 });
    expect(off.chainStarts).toBeGreaterThan(50);
    expect(on.storedBytesPerMin).toBeCloseTo(on.storedBytes / 10, 6);
    // The full-size checkpoints are what compaction saves in stored (and shipped) bytes: 64 MiB each.
    expect(off.storedBytes - on.storedBytes).toBeGreaterThan((off.chainStarts - 1) * (W * PAGE - 4 * MiB));
  });

  it('a merge slower than the intervals leave falls behind, and the chain then restarts at new_chain_every', async () => {
    // 3 s per merge of 64 MiB, 500 ms intervals: a chain reaches 20 links before a merge ends.
    const slow = input({
      retention: withCompaction(true),
      cost: { ...constantCost(30, 60, 40), rewrite: { baseMs: 40, perScannedPageUs: 0, perWrittenPageUs: 180 } },
    });
    const records = await simulate(slow);
    const restarts = records.filter((r) => r.chain_start && r.seq > 1);
    expect(restarts.length).toBeGreaterThan(0);
    expect(restarts[0]!.chain).toMatch(/compaction fell behind/);
  });
});

describe('ModelCompactor', () => {
  const link = (seq: number, parentSeq: number | undefined, pages: number): StoredCheckpoint => ({
    seq,
    name: String(seq).padStart(8, '0'),
    parentSeq,
    sizeBytes: pages * PAGE,
  });

  it('runs only while not held: the time the workload is frozen does not count, and the base replaces its link', () => {
    const clock = new VirtualClock();
    const chain = new Map([link(1, undefined, 100), link(2, 1, 10), link(3, 2, 10)].map((c) => [c.seq, c]));
    const store = { find: (seq: number) => chain.get(seq), replace: (c: StoredCheckpoint) => void chain.set(c.seq, c) };
    // 100 ms of unfrozen work, whatever the pages.
    const compactor = new ModelCompactor({
      clock,
      pageSize: PAGE,
      memoryPages: 100,
      store,
      cost: { ...constantCost(0, 0, 0), rewrite: { baseMs: 100, perScannedPageUs: 0, perWrittenPageUs: 0 } },
    });
    compactor.start(chain.get(3)!);
    expect(compactor.busy).toBe(true);
    clock.advance(60);
    compactor.pause(); // a dump begins: 60 ms done
    expect(compactor.takeOutcome()).toBeUndefined();
    clock.advance(500); // frozen: no progress
    compactor.resume();
    clock.advance(30);
    compactor.pause(); // 90 ms done
    expect(compactor.busy).toBe(true);
    compactor.resume();
    clock.advance(50);
    compactor.pause(); // done 10 ms into this stretch
    expect(compactor.busy).toBe(false);
    const outcome = compactor.takeOutcome();
    expect(outcome).toEqual({
      ok: true,
      target: link(3, 2, 10),
      compacted: link(3, undefined, 100),
      links: 3,
      bytesWritten: 100 * PAGE,
      elapsedMs: 600,
    });
    expect(chain.get(3)).toEqual(link(3, undefined, 100));
    expect(compactor.takeOutcome()).toBeUndefined(); // reported once
  });

  it('stop() abandons a merge: the chain is left as it was', () => {
    const clock = new VirtualClock();
    const chain = new Map([link(1, undefined, 100), link(2, 1, 10)].map((c) => [c.seq, c]));
    const store = { find: (seq: number) => chain.get(seq), replace: (c: StoredCheckpoint) => void chain.set(c.seq, c) };
    const compactor = new ModelCompactor({
      clock,
      pageSize: PAGE,
      memoryPages: 100,
      store,
      cost: constantCost(0, 0, 1000),
    });
    compactor.start(chain.get(2)!);
    clock.advance(10);
    compactor.stop();
    expect(compactor.busy).toBe(false);
    expect(compactor.takeOutcome()).toMatchObject({ ok: false, reason: expect.stringContaining('stopped') });
    expect(chain.get(2)).toEqual(link(2, 1, 10));
  });
});

describe('ModelCompactor with the model checkpointer’s pool', () => {
  // A chain 1 ← 2 ← 3 in the store, made by the pool, and a compactor of 3 whose merge takes 10 ms.
  const setUp = () => {
    const clock = new VirtualClock();
    const pool = new CheckpointPool();
    const store = new LiveCheckpoints();
    const links = [pool.make(1, undefined, 100 * PAGE), pool.make(2, 1, 10 * PAGE), pool.make(3, 2, 10 * PAGE)];
    for (const c of links) store.replace(c);
    const compactor = new ModelCompactor({
      clock,
      pageSize: PAGE,
      memoryPages: 100,
      store,
      checkpoints: pool,
      cost: { ...constantCost(0, 0, 0), rewrite: { baseMs: 10, perScannedPageUs: 0, perWrittenPageUs: 0 } },
    });
    const merge = () => {
      compactor.start(links[2]!);
      clock.advance(10);
      compactor.pause();
    };
    return { clock, pool, store, links, compactor, merge };
  };

  it('a base comes from the pool, and the link it replaced goes back once the loop has taken the outcome', () => {
    const { pool, store, links, compactor, merge } = setUp();
    merge();
    const base = store.find(3);
    expect(base).toBeInstanceOf(ModelCheckpoint);
    expect(base).toMatchObject({ seq: 3, parentSeq: undefined, sizeBytes: 100 * PAGE, name: links[2]!.name });
    // Not before: the outcome still names the old link.
    expect(pool.make(4, 3, PAGE)).not.toBe(links[2]);
    expect(compactor.takeOutcome()).toMatchObject({ ok: true, target: links[2], compacted: base });
    const again = pool.make(5, 4, PAGE);
    expect(again).toBe(links[2]);
    expect(again).toMatchObject({ seq: 5, parentSeq: 4, sizeBytes: PAGE });
  });

  it('a link retention deleted during the merge went back then, and not again with the outcome', () => {
    const { clock, pool, store, links, compactor } = setUp();
    compactor.start(links[2]!);
    // Retention deletes the target while the merge runs: the checkpointer hands it back to the pool then.
    store.remove([links[2]!]);
    pool.release(links[2]!);
    clock.advance(10);
    compactor.pause();
    // The base is that same object, made again: handing the target back now would hand out the base.
    const base = store.find(3);
    expect(base).toBe(links[2]);
    expect(compactor.takeOutcome()).toMatchObject({ ok: true, compacted: base });
    expect(pool.make(4, 3, PAGE)).not.toBe(base);
    expect(pool.make(5, 4, PAGE)).not.toBe(base);
    expect(store.find(3)).toMatchObject({ seq: 3, parentSeq: undefined, sizeBytes: 100 * PAGE });
  });
});
