// The default of every config key that has one, in one place (policy options: src/policy/defaults.ts).

/**
 * criu.realtime_priority: CRIU dumps at SCHED_FIFO 10 (src/criu/realtime.ts says why, with the numbers). Low
 * among real-time priorities (1–99): above every normal task, below the kernel's and the system's own RT threads.
 */
export const DEFAULT_REALTIME_PRIORITY = 10;

/** Defaults of every key that has one (policy options come from src/policy/defaults.ts). */
export const CONFIG_DEFAULTS = Object.freeze({
  lminBytes: 2 * 2 ** 20,
  lmaxBytes: 16 * 2 ** 20,
  /** Remus' own default epoch; when interval.min/max exclude it, initial defaults to the nearest of them. */
  initialMs: 200,
  minMs: 100,
  maxMs: 5000,
  /**
   * Predictive v2 beats the threshold rule in `remusd compare` (band [1, 4] MiB, 10× steps every 20 s, noise
   * 0.2, bursts, 20 seeds): 93.8 % in band against 86.9 %, back in band after 1.74 checkpoints against 3.79,
   * reversals 0.7 % against 1.1 %, no overruns either (see README, Policies).
   */
  policyKind: 'predictive' as const,
  mode: 'auto' as const,
  dir: './remusd-images',
  keep: 5,
  newChainEvery: 20,
  /**
   * A compaction rewrites the whole memory once (locally, in the background) every compactAt − 3 checkpoints
   * at best (measured: every ~9 at 1 s intervals on a loaded machine, since the chain grows while a merge
   * runs). 16 keeps chains short with nothing dumped or shipped in full after the first checkpoint.
   */
  compact: true,
  compactAt: 16,
  /**
   * Measured (test/replicate/compaction-ship.test.ts: 32 MiB, 200 ms, compact_at 4, shipper stalled 3 s): without
   * it the backup was sent three 32 MiB flattened bases and 17 shipments failed on removed links; with it, none.
   */
  compactAfterShip: true,
  logLevel: 2,
  /** criu.timeout: a hung CRIU must not stall the loop (and hold the workload frozen) forever. */
  criuTimeoutMs: 120_000,
  realtimePriority: DEFAULT_REALTIME_PRIORITY,
  maxConsecutive: 5,
  backoffInitialMs: 1000,
  backoffMaxMs: 30_000,
  /** records.file default: this name inside checkpoint.dir. */
  recordsName: 'records.jsonl',
  /** ~150,000 records of ~450 bytes: a few hours at 100 ms, weeks at 10 s. */
  recordsMaxBytes: 64 * 2 ** 20,
  recordsKeepFiles: 3,
  releaseAfter: 'fsync' as const,
  gateMechanism: 'auto' as const,
  /**
   * The dirty-size probe, on for the adaptive policies in the incremental modes (src/config/probe-setting.ts).
   * In `remusd compare` (issue 11's workload, 20 seeds) it raises v2 from 94.5 % to 98.1 % in band (the
   * threshold rule from 87.2 % to 98.3 %); on real CRIU (75 s runs of the phased dirtier)
   * v2 with it had 96.3 % in band over 10 runs and 98.9 % over 7 earlier, against 58.0 % without (README). The trade: deferral holds a quiet workload's epochs at interval.max
   * from its second checkpoint (the adaptive policies get there anyway, ×1.5 per checkpoint), and
   * clear_refs resets the kernel's reclaim aging of the workload's pages (README, the probe's section). A
   * period of interval/8 within [25 ms, 100 ms]: a burst of 4000 pages/s adds at most 1.6 MiB between two
   * readings at 100 ms. Deferral past the interval while under lmin × 1.1 keeps the first checkpoint after
   * a fall in band.
   */
  probeEnabled: 'auto' as const,
  probeMinPeriodMs: 25,
  probeMaxPeriodMs: 100,
  probeDefer: true,
  /** About 45,000 full-size packets: a second of a 360 Mbit/s stream held at 200 ms epochs, with room to spare. */
  maxHeldBytes: 64 * 2 ** 20,
});
