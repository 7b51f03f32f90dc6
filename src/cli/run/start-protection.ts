import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { FenceGuard } from '../../fence/guard.js';
import type { LoopMetrics } from '../../loop/metrics.js';
import type { RecordSink } from '../../loop/records.js';
import type { Target } from '../../loop/supervisor-deps.js';
import type { CheckpointMode } from '../../model/record.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';
import { guardPrimary } from '../fencing.js';
import { openRecords } from '../records-sink.js';
import { prepareRunNetwork, type RunNetwork } from '../run-network.js';
import { packageVersion } from '../version.js';
import type { Capabilities } from './checkpoint-mode.js';
import { discardOutputCommit, startOutputCommit, type OutputCommitHolder } from './output-commit.js';
import { acquireTarget, type WorkloadSpec } from './workload-target.js';

/** Everything around a protected workload, set up in order before the first checkpoint. */
export interface Protection {
  records: RecordSink;
  metrics: LoopMetrics | undefined;
  guard: FenceGuard | undefined;
  network: RunNetwork | undefined;
  gate: OutputCommitHolder | undefined;
  target: Target;
}

export interface ProtectionInputs {
  config: Config;
  recordsFile: string;
  workload: WorkloadSpec;
  capabilities: Capabilities;
  mode: CheckpointMode;
  root: string;
  log: Logger;
}

/**
 * Sets up, in this order, the records, the metrics endpoint, the lease, the network namespace, the output
 * gate and finally the workload: each step that fails undoes the ones before it, and nothing is started
 * (no workload, no gate holding packets) when a later step would refuse.
 */
export async function startProtection({
  config,
  recordsFile,
  workload,
  capabilities,
  mode,
  root,
  log,
}: ProtectionInputs): Promise<Protection> {
  const undo: (() => unknown)[] = [];
  const step = async <T>(start: () => Promise<T>, stop: (started: T) => unknown): Promise<T> => {
    try {
      const started = await start();
      undo.unshift(() => stop(started));
      return started;
    } catch (error) {
      for (const action of undo) await action();
      throw error;
    }
  };
  let metrics: LoopMetrics | undefined;
  const records = await step(
    async () => openRecords(recordsFile, config.records, log, () => metrics?.recordLost()),
    (sink) => sink.close(),
  );
  // Before the workload is started: a metrics address that cannot be bound must fail with nothing started.
  metrics = await step(
    () => serveLoopMetrics(config, capabilities, mode, log),
    (served) => served?.close(),
  );
  // The lease comes before the workload: a host that is not the leader must not start (or protect) it.
  const guard = await step(
    () => guardPrimary(config.fencing, root, log, metrics?.registry),
    (held) => held?.end('lapse'),
  );
  // The namespace and its veth next: the gate sits on the veth, and the workload starts inside.
  const network = await step(
    async () => (config.network === null ? undefined : prepareRunNetwork(config.network, workload, log)),
    (prepared) => prepared?.close(),
  );
  // The gate goes up before the workload starts: its very first packets belong to epoch 1.
  const gate = await step(
    () => startOutputCommit(config, root, capabilities.plugQdisc, log, metrics, guard),
    discardOutputCommit,
  );
  const target = await step(
    () => acquireTarget(workload, root, network, log),
    () => undefined,
  );
  return { records, metrics, guard, network, gate, target };
}

async function serveLoopMetrics(
  config: Config,
  capabilities: Capabilities,
  mode: CheckpointMode,
  log: Logger,
): Promise<LoopMetrics | undefined> {
  if (config.metrics.listen === null) return undefined;
  // prom-client is loaded only when metrics are asked for: it is a fifth of remusd's resident memory.
  const { serveMetrics } = await import('../../loop/metrics.js');
  const { host, port } = config.metrics.listen;
  const build = { version: packageVersion(), criuVersion: capabilities.criu.version ?? 'unknown', mode };
  const metrics = await serveMetrics(host, port, build).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(
      `metrics.listen ${host}:${port}: cannot listen there (${error.code ?? error.message})`,
      EXIT.usage,
    );
  });
  log.info(`metrics on http://${metrics.address}/metrics`);
  return metrics;
}
