// The degraded release on the real OutputCommit, over a gate that logs what it is told (the real gates are
// tested in tun-gate.test.ts and test/vm), for degrade.test.ts and degrade-durable.test.ts.

import { OutputCommit } from '../../src/gate/commit.js';
import { Degrade, type ReleasedRecord } from '../../src/gate/degrade.js';
import type { EpochReleased, OutputGate } from '../../src/gate/gate.js';
import { waitFor } from '../helpers/wait.js';

const released = (epoch: number): EpochReleased => ({ epoch, packets: 1, bytes: 100, dropped: 0, holds: new Map() });

function loggingGate(events: string[], onRelease: (epoch: number) => void): OutputGate {
  return {
    mechanism: 'tun',
    inbound: undefined,
    barrier: async (epoch) => ({ epoch, packets: 1, bytes: 100 }),
    release: async (epoch) => (onRelease(epoch), events.push(`release ${epoch}`), released(epoch)),
    abandon: async () => undefined,
    open: async () => undefined,
    destroy: async () => undefined,
  };
}

/**
 * The real OutputCommit with a Degrade of degrade_after 1 s on a clock the test advances, over a gate that
 * logs what it is told (onRelease sees each release as the gate is asked for it) and an etcd record that
 * succeeds when recordOk.
 */
export function setUpDegrade(recordOk: boolean, onRelease: (epoch: number) => void = () => undefined) {
  const events: string[] = [];
  let now = 0;
  const output = new OutputCommit(loggingGate(events, onRelease), 'backup-ack');
  const degrade = new Degrade(output, 1000, {
    record: async (value: ReleasedRecord) => (events.push(`record ${value.checkpoint}`), recordOk),
    clear: async (value: ReleasedRecord) => (events.push(`clear ${value.checkpoint}`), true),
    runId: () => 'run-1',
    holder: 'host-a',
    log: {
      info: () => undefined,
      warn: (m) => events.push(`warn ${m.split(':')[0]}`),
      error: (m) => events.push(`error ${m.split(':')[0]}`),
    },
    gauge: (on) => events.push(`gauge ${on ? 1 : 0}`),
    now: () => now,
  });
  output.degrade = degrade;
  // For "nothing happens": a moment for anything in flight to show.
  const settle = () => new Promise((resolve) => setTimeout(resolve, 50));
  // For what must happen: until `count` events are logged. A degraded release waits for a local fsync,
  // which took longer than a fixed 50 ms with the unit files in parallel at load 10.
  const logged = (count: number) =>
    waitFor(`${count} events (so far: ${events.join(', ')})`, () => (events.length >= count ? true : undefined));
  return { events, output, degrade, settle, logged, advance: (ms: number) => (now += ms) };
}
