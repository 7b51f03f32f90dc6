import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CriuLocation } from '../../src/criu/locate.js';
import { systemClock } from '../../src/loop/clock.js';
import { criuCheckpointer } from '../../src/loop/criu-checkpointer.js';
import { openRecordsFile } from '../../src/loop/records.js';
import type { DirtyProbe, SupervisorExit, SupervisorSettings } from '../../src/loop/supervisor-deps.js';
import { supervise } from '../../src/loop/supervisor.js';
import { attachedTarget } from '../../src/loop/target.js';
import type { Band } from '../../src/model/policy.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { ThresholdPolicy } from '../../src/policy/index.js';

/** Settings for a supervisor under test: threshold policy, everything kept, quick failure handling. */
export function testSettings(band: Band, overrides: Partial<SupervisorSettings> = {}): SupervisorSettings {
  return {
    band,
    policyKey: 'threshold',
    policy: new ThresholdPolicy({ shrink: 0.5, grow: 2 }),
    retention: { keep: 1000, newChainEvery: 1000, maxChainBytes: undefined },
    criu: { logLevel: 2, extraArgs: [], timeoutMs: 60_000 },
    failures: { maxConsecutive: 3, backoffInitialMs: 50, backoffMaxMs: 200 },
    ...overrides,
  };
}

const quiet = {
  info: () => undefined,
  warn: (message: string, fields?: Record<string, unknown>) => console.warn(message, fields ?? ''),
};

/** Supervises pid with real CRIU until `count` checkpoints are recorded, and returns the records. */
export async function superviseFor(options: {
  criu: CriuLocation;
  pid: number;
  root: string;
  count: number;
  initialIntervalMs: number;
  settings: () => SupervisorSettings;
  pageSize: number;
  mode?: 'full' | 'delta';
  onRecord?: (record: CheckpointRecord) => void;
  /** The dirty-size probe (used while settings().probe is set). */
  probe?: DirtyProbe;
  /** Stop after this long too (after the checkpoint in progress). */
  durationMs?: number;
}): Promise<{ exit: SupervisorExit; records: CheckpointRecord[] }> {
  const controller = new AbortController();
  const timer = options.durationMs === undefined ? undefined : setTimeout(() => controller.abort(), options.durationMs);
  const recordsPath = join(options.root, 'records.jsonl');
  const sink = openRecordsFile(recordsPath);
  let seen = 0;
  try {
    const exit = await supervise({
      checkpointer: criuCheckpointer({
        criu: options.criu,
        root: options.root,
        pid: options.pid,
        kind: 'full',
        delta: options.mode === 'delta',
        pageSize: options.pageSize,
        log: quiet,
      }),
      mode: options.mode ?? 'full',
      pageSize: options.pageSize,
      initialIntervalMs: options.initialIntervalMs,
      target: attachedTarget(options.pid),
      probe: options.probe,
      settings: options.settings,
      records: sink,
      clock: systemClock,
      signal: controller.signal,
      events: {
        ...quiet,
        failure: (_seq, message, logTail) => console.warn(message, logTail),
        record(record) {
          options.onRecord?.(record);
          if (++seen >= options.count) controller.abort();
        },
      },
    });
    const records = (await readFile(recordsPath, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CheckpointRecord);
    return { exit, records };
  } finally {
    clearTimeout(timer);
    sink.close();
  }
}
