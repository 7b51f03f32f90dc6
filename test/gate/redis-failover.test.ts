// Remus' promise on a real service: redis-server (Debian's 7.0, unmodified) in its own network namespace
// under `remusd run` with output commit released by the backup's ack, replicated by `remusd ship --pid` to
// `remusd backup --failover-after` with its own namespace (the "backup host"). A client in the host namespace
// keeps ONE TCP connection and sends INCR in a loop. Then the primary "host" crashes: its link is cut and its
// supervisor, shipper and redis are killed with SIGKILL. The backup fails over; the client's same connection
// goes on, and the acknowledged values stay strictly consecutive. With output commit OFF the same run must
// fail (reset, stall, or a value repeated/lost): the negative control. The scenario itself is in
// test/helpers/redis-failover.ts; test/vm/redis-plug-failover.test.ts runs it with the plug qdisc.

import { describe, expect, it } from 'vitest';
import { broken, crashAndFailover, expectContinued, type CrashScenario } from '../helpers/redis-failover.js';

/**
 * How long the first INCR sent after the crash may take to be answered by the restored redis. Measured here
 * (2 busy cores, load ~18): 8-25 s (full 8.4-12.5 s, delta 10-25 s) = the backup's silence timeout (2 s) + restore (3-8 s) + the
 * client's TCP retransmission backoff (its RTO is inflated by the held ACKs, and doubles on each try).
 * The bound is generous because the machine is shared; the negative control gets the same wait.
 */
const CONTINUE_BOUND_MS = 60_000;

const HOST: Omit<CrashScenario, 'outputCommit' | 'mode' | 'tag'> = {
  octets: '10.72',
  continueBoundMs: CONTINUE_BOUND_MS,
  interval: '300ms',
  failoverAfter: '2s',
  loadMs: 8_000,
  setupTimeoutMs: 60_000,
};

describe('redis failover with output commit', () => {
  for (const mode of ['full', 'delta'] as const) {
    it(
      `mode ${mode}${mode === 'delta' ? ' (predictive, probe on)' : ' (fixed)'}: the client's one connection continues across the crash, values strictly consecutive`,
      { timeout: 240_000 },
      async () => {
        // Mode delta runs what an operator gets by default: the predictive policy, and the dirty-size probe
        // (probe.enabled auto) starting checkpoints early or deferring them up to interval.max.
        const adaptive = mode === 'delta';
        const outcome = await crashAndFailover({
          ...HOST,
          outputCommit: true,
          mode,
          adaptive,
          tag: mode === 'full' ? 'rgf' : 'rgd',
        });
        console.log(
          `output commit ON (${mode}): ${outcome.beforeCrash} INCRs before the crash; continued after ${outcome.continuedAfterMs?.toFixed(0)} ms; probe ${outcome.probe}`,
        );
        expectContinued(outcome, CONTINUE_BOUND_MS);
        expect(outcome.probe).toMatch(adaptive ? /^on \(auto: predictive policy, mode delta\)/ : /^off \(auto:/);
      },
    );
  }

  it(
    'negative control, output commit OFF: the same crash breaks the client (reset, stall, or a value repeated/lost)',
    { timeout: 240_000 },
    async () => {
      const outcome = await crashAndFailover({ ...HOST, outputCommit: false, mode: 'full', tag: 'rgn' });
      console.log(
        `output commit OFF: ${outcome.beforeCrash} INCRs before the crash; error ${outcome.error}; events ${JSON.stringify(outcome.events)}`,
      );
      expect(broken(outcome)).toBe(true);
    },
  );
});
