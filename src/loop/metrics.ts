// Prometheus metrics of `remusd run`, named as Prometheus recommends (base units, _total counters,
// _timestamp_seconds for points in time). The ones people alert on: time since the last checkpoint
// (remusd_last_checkpoint_timestamp_seconds), failures, overruns, lost records, and whether the last
// config reload worked. README "Metrics" has an example alert rule.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EpochReleased } from '../gate/gate.js';
import { bucketRange } from '../gate/histogram.js';
import type { Band } from '../model/policy.js';
import type { CheckpointRecord } from '../model/record.js';
import { serveRegistry } from './metrics-server.js';
import { inBand } from './status-line.js';

/** Prometheus metrics of the loop, served over HTTP (loopback by default). */
export interface LoopMetrics {
  observe(record: CheckpointRecord, band: Band): void;
  failure(): void;
  /** A record could not be written (the checkpoint itself was taken). */
  recordLost(): void;
  configReloaded(ok: boolean, at: Date): void;
  /** Output commit released an epoch: what went out, how long it had waited. */
  released(release: EpochReleased, releaseMs: number): void;
  close(): Promise<void>;
  address: string;
  /** Where other parts (the lease, src/fence/metrics.ts) register their metrics. */
  registry: Registry;
}

/** What remusd_build_info carries. */
export interface BuildInfo {
  version: string;
  criuVersion: string;
  mode: string;
}

const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Starts a /metrics endpoint on host:port; the config counts as loaded successfully at start. */
export async function serveMetrics(
  host: string,
  port: number,
  build: BuildInfo = { version: 'unknown', criuVersion: 'unknown', mode: 'unknown' },
): Promise<LoopMetrics> {
  const registry = new Registry();
  const registers = [registry];
  // Process metrics (resident memory, CPU, open fds, event-loop lag) with the standard names.
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'remusd_build_info',
    help: 'Always 1; the labels say which remusd, CRIU and checkpoint mode run',
    labelNames: ['version', 'node_version', 'criu_version', 'mode'],
    registers,
  }).set(
    { version: build.version, node_version: process.version, criu_version: build.criuVersion, mode: build.mode },
    1,
  );
  const interval = new Gauge({
    name: 'remusd_interval_seconds',
    help: 'Checkpoint interval in force (the next one)',
    registers,
  });
  const bandGauges = {
    lmin: new Gauge({ name: 'remusd_band_lmin_bytes', help: 'thresholds.lmin in force', registers }),
    lmax: new Gauge({ name: 'remusd_band_lmax_bytes', help: 'thresholds.lmax in force', registers }),
    min: new Gauge({ name: 'remusd_interval_min_seconds', help: 'interval.min in force', registers }),
    max: new Gauge({ name: 'remusd_interval_max_seconds', help: 'interval.max in force', registers }),
  };
  const size = new Histogram({
    name: 'remusd_checkpoint_size_bytes',
    help: 'Bytes each checkpoint had to store',
    buckets: [2 ** 16, 2 ** 18, 2 ** 20, 2 ** 22, 2 ** 24, 2 ** 26, 2 ** 28, 2 ** 30],
    registers,
  });
  const frozen = new Histogram({
    name: 'remusd_frozen_seconds',
    help: 'Time the workload was frozen by each checkpoint',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const criuDuration = new Histogram({
    name: 'remusd_criu_duration_seconds',
    help: 'Wall time of each successful CRIU dump',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  const rewriteDuration = new Histogram({
    name: 'remusd_delta_rewrite_duration_seconds',
    help: 'Wall time of each delta rewrite (mode delta), hashes saved included',
    buckets: SECONDS_BUCKETS,
    registers,
  });
  // Remus' pacing (output_commit release_after backup-ack): checkpoints held back until the backup caught up.
  const pacedCheckpoints = new Counter({
    name: 'remusd_output_paced_checkpoints_total',
    help: "Checkpoints that waited for the backup's ack before starting (pacing)",
    registers,
  });
  const pacedSeconds = new Counter({
    name: 'remusd_output_paced_seconds_total',
    help: "Time checkpoints waited for the backup's ack before starting (pacing)",
    registers,
  });
  const lastCheckpoint = new Gauge({
    name: 'remusd_last_checkpoint_timestamp_seconds',
    help: 'When the newest checkpoint was recorded (Unix time); alert on time() minus this',
    registers,
  });
  const checkpoints = new Counter({ name: 'remusd_checkpoints_total', help: 'Checkpoints taken', registers });
  const inBandTotal = new Counter({
    name: 'remusd_checkpoints_in_band_total',
    help: 'Checkpoints whose size was within [lmin, lmax]',
    registers,
  });
  const overruns = new Counter({
    name: 'remusd_checkpoint_overruns_total',
    help: 'Checkpoints that took longer than their interval',
    registers,
  });
  const decisions = new Counter({
    name: 'remusd_decisions_total',
    help: 'Policy decisions after each checkpoint, by kind',
    labelNames: ['decision'],
    registers,
  });
  for (const decision of ['shrink', 'grow', 'hold']) decisions.inc({ decision }, 0);
  const failures = new Counter({
    name: 'remusd_checkpoint_failures_total',
    help: 'Failed checkpoint attempts (CRIU or I/O)',
    registers,
  });
  const recordsLost = new Counter({
    name: 'remusd_records_lost_total',
    help: 'Checkpoint records that could not be written (disk full…)',
    registers,
  });
  const reloadOk = new Gauge({
    name: 'remusd_config_last_reload_successful',
    help: '1 if the last config (re)load was applied, 0 if it was refused',
    registers,
  });
  const reloadAt = new Gauge({
    name: 'remusd_config_last_reload_success_timestamp_seconds',
    help: 'When the config was last loaded or reloaded successfully (Unix time)',
    registers,
  });
  reloadOk.set(1);
  reloadAt.set(Date.now() / 1000);
  const released = outputCommitMetrics(registry);

  const server = await serveRegistry(registry, host, port);
  return {
    address: server.address,
    registry,
    observe(record, band) {
      interval.set(record.next_interval_ms / 1000);
      bandGauges.lmin.set(band.lminBytes);
      bandGauges.lmax.set(band.lmaxBytes);
      bandGauges.min.set(band.minMs / 1000);
      bandGauges.max.set(band.maxMs / 1000);
      size.observe(record.size_bytes);
      frozen.observe(record.frozen_us / 1e6);
      criuDuration.observe(record.criu_wall_ms / 1000);
      if (typeof record.delta_ms === 'number') rewriteDuration.observe(record.delta_ms / 1000);
      if (typeof record.paced_ms === 'number' && record.paced_ms > 0) {
        pacedCheckpoints.inc();
        pacedSeconds.inc(record.paced_ms / 1000);
      }
      lastCheckpoint.set(Date.now() / 1000);
      checkpoints.inc();
      if (inBand(record.size_bytes, band)) inBandTotal.inc();
      if (record.overrun) overruns.inc();
      decisions.inc({ decision: record.decision });
    },
    failure: () => failures.inc(),
    recordLost: () => recordsLost.inc(),
    configReloaded(ok, at) {
      reloadOk.set(ok ? 1 : 0);
      if (ok) reloadAt.set(at.getTime() / 1000);
    },
    released,
    close: () => server.close(),
  };
}

// Output commit (src/gate): what was held and released, and the latency it added for clients.
function outputCommitMetrics(registry: Registry): LoopMetrics['released'] {
  const registers = [registry];
  const outputPackets = new Counter({
    name: 'remusd_output_released_packets_total',
    help: 'Outbound packets held by output commit and released',
    registers,
  });
  const outputBytes = new Counter({
    name: 'remusd_output_released_bytes_total',
    help: 'Outbound bytes held by output commit and released',
    registers,
  });
  const outputDropped = new Counter({
    name: 'remusd_output_dropped_packets_total',
    help: 'Outbound packets dropped because held bytes reached output_commit.max_held',
    registers,
  });
  const latencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5];
  const releaseSeconds = new Histogram({
    name: 'remusd_output_release_seconds',
    help: 'Barrier to release of each epoch (how long its last packet waited)',
    buckets: latencyBuckets,
    registers,
  });
  const holdSeconds = new Histogram({
    name: 'remusd_output_hold_seconds',
    help: 'How long each released packet was held (latency added for clients)',
    buckets: latencyBuckets,
    registers,
  });
  return (release, releaseMs) => {
    outputPackets.inc(release.packets);
    outputBytes.inc(release.bytes);
    outputDropped.inc(release.dropped);
    releaseSeconds.observe(releaseMs / 1000);
    for (const [index, count] of release.holds) {
      const { low, high } = bucketRange(index);
      for (let i = 0; i < count; i++) holdSeconds.observe((low + high) / 2 / 1e6);
    }
  };
}
