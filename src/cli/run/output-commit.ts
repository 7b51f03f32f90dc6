import type { Server } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { OutputCommit } from '../../gate/commit.js';
import type { FenceGuard } from '../../fence/guard.js';
import type { LoopMetrics } from '../../loop/metrics.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { errorMessage } from '../../fs/error-code.js';

/** The output gate of a run, and with release_after backup-ack the control socket remusd ship releases through. */
export interface OutputCommitHolder {
  output: OutputCommit;
  control: Server | undefined;
}

/** Output commit, when enabled: the gate goes up (holding everything) before the workload starts. */
export async function startOutputCommit(
  config: Config,
  root: string,
  plug: { available: boolean; detail: string },
  log: Logger,
  metrics: LoopMetrics | undefined,
  guard: FenceGuard | undefined,
): Promise<OutputCommitHolder | undefined> {
  const settings = config.outputCommit;
  if (!settings.enabled) return undefined;
  const { chooseMechanism, startGate } = await import('../../gate/start.js');
  const { OutputCommit } = await import('../../gate/commit.js');
  const hostInterface = settings.interface;
  if (hostInterface === null)
    throw new UserError(
      "output_commit.enabled needs output_commit.interface (the host-side end of the workload's veth)",
      EXIT.usage,
    );
  let choice;
  try {
    choice = chooseMechanism(settings.mechanism, plug);
  } catch (error) {
    throw new UserError(errorMessage(error), EXIT.criuUnavailable);
  }
  const holdInbound = inboundHold(settings.inboundDuringDump, choice.mechanism, config.network !== null);
  const gate = await startGate(choice.mechanism, hostInterface, settings.maxHeldBytes, holdInbound).catch(
    (error: Error) => {
      throw new UserError(
        `output commit: cannot hold the output of ${hostInterface}: ${error.message}`,
        EXIT.criuUnavailable,
      );
    },
  );
  const output = new OutputCommit(gate, settings.releaseAfter, {
    released: (release, ms) => metrics?.released(release, ms),
  });
  // The TUN gate says which offloads its device took: with tso4/tso6 the workload's GSO packets are held whole.
  const offload = 'offload' in gate ? `, offload ${String(gate.offload)}` : '';
  log.info(
    `output commit: ${choice.mechanism} gate on ${hostInterface} (${choice.why}${offload}); an epoch is released after ${settings.releaseAfter === 'fsync' ? 'its checkpoint is fsynced here' : "the backup's ack (remusd ship)"}`,
  );
  log.info(
    holdInbound
      ? 'network lock during dumps: remusd holds packets for the workload and lets them in after each dump (CRIU: --network-lock skip)'
      : "network lock during dumps: CRIU's nftables lock (packets for the workload are dropped; clients resend)",
  );
  if (settings.releaseAfter === 'fsync') return { output, control: undefined };
  const gauge = await degradedGauge(metrics);
  if (settings.degradeAfterMs !== null && guard !== undefined)
    await startDegrade(output, settings.degradeAfterMs, guard, log, gauge);
  else log.info('output commit: degrade_after never: while the backup does not acknowledge, the output stays held');
  const { controlSocketPath, serveControlSocket } = await import('../../gate/control.js');
  const path = controlSocketPath(root);
  const control = await serveControlSocket(path, (seq) => output.releaseAcked(seq)).catch(async (error: Error) => {
    await gate.destroy();
    throw new UserError(`output commit: cannot listen on ${path}: ${error.message}`);
  });
  log.info(`output commit: remusd ship releases epochs through ${path}`);
  return { output, control };
}

// output_commit.degrade_after (src/gate/degrade.ts): the record in etcd goes through the lease holder.
async function startDegrade(
  output: OutputCommit,
  afterMs: number,
  guard: FenceGuard,
  log: Logger,
  gauge: ((on: boolean) => void) | undefined,
): Promise<void> {
  const [{ Degrade }, { readRunIdentity }] = await Promise.all([
    import('../../gate/degrade.js'),
    import('../../store/run-identity.js'),
  ]);
  output.degrade = new Degrade(output, afterMs, {
    record: (value) => guard.recordReleased(value),
    clear: (value) => guard.clearReleased(value),
    runId: (root) => readRunIdentity(root)?.id,
    holder: guard.holderName,
    log: { info: (m) => log.info(m), warn: (m) => log.warn(m), error: (m) => log.error(m) },
    ...(gauge === undefined ? {} : { gauge }),
  });
  output.degrade.start();
  log.info(
    `output commit: degrade_after ${afterMs} ms: without an ack from the backup for that long, epochs are released on local fsync (recorded in etcd first)`,
  );
}

// remusd_replication_degraded, with every backup-ack gate (0 when degrade_after is never: it never degrades).
async function degradedGauge(metrics: LoopMetrics | undefined): Promise<((on: boolean) => void) | undefined> {
  if (metrics === undefined) return undefined;
  const { Gauge } = await import('prom-client');
  const help =
    "1 while output is released without the backup's ack (output_commit.degrade_after), until the backup caught up";
  const degraded = new Gauge({ name: 'remusd_replication_degraded', help, registers: [metrics.registry] });
  degraded.set(0);
  return (on) => degraded.set(on ? 1 : 0);
}

/** Whether the gate holds inbound packets during dumps (output_commit.inbound_during_dump; rules.ts refuses hold without a network section or with plug). */
export function inboundHold(
  setting: Config['outputCommit']['inboundDuringDump'],
  mechanism: 'tun' | 'plug',
  hasNetwork: boolean,
): boolean {
  if (setting === 'hold' && mechanism === 'plug') {
    throw new UserError(
      'output_commit.inbound_during_dump hold: the plug gate (chosen by mechanism auto here) cannot hold inbound packets; use mechanism tun, or drop',
      EXIT.usage,
    );
  }
  return setting === 'hold' || (setting === 'auto' && mechanism === 'tun' && hasNetwork);
}

/** Destroys the gate without opening it: what it holds was not acknowledged and must never leave. */
export async function discardOutputCommit(holder: OutputCommitHolder | undefined): Promise<void> {
  holder?.output.degrade?.stop();
  holder?.control?.close();
  await holder?.output.gate.destroy().catch(() => undefined);
}

/** Ends output commit at a normal stop: the gate opens (everything held leaves) and its numbers are logged. */
export async function endOutputCommit(holder: OutputCommitHolder, log: Logger): Promise<void> {
  holder.output.degrade?.stop();
  holder.control?.close();
  await holder.output.stop().catch((error: Error) => log.error(`could not open the output gate: ${error.message}`));
  log.info({ output: holder.output.summary() }, describeOutput(holder.output));
  log.warn("output commit ended: the workload's output is no longer held (unprotected until remusd runs again)");
}

function describeOutput(output: OutputCommit): string {
  const s = output.summary();
  const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(1)} ms`);
  return (
    `output commit: ${s.packets} packets (${s.bytes} bytes) held and released, ${s.dropped} dropped at the bound; ` +
    `added latency p50 ${ms(s.holdP50Ms)} p99 ${ms(s.holdP99Ms)}; release p50 ${ms(s.releaseP50Ms)} p99 ${ms(s.releaseP99Ms)}` +
    (output.releaseAfter === 'backup-ack'
      ? `; ${s.pacedCheckpoints} checkpoints waited for the backup's ack before starting (pacing), ${(s.pacedMs / 1000).toFixed(1)} s in all`
      : '')
  );
}
