import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Band } from '../model/policy.js';
import type { CheckpointRecord } from '../model/record.js';
import type { EpochReleased } from '../gate/gate.js';
import { bucketRange } from '../gate/histogram.js';
import { inBand } from './status-line.js';

/** Prometheus metrics of the loop, served over HTTP (loopback by default). */
export interface LoopMetrics {
  observe(record: CheckpointRecord, band: Band): void;
  failure(): void;
  /** Output commit released an epoch: what went out, how long it had waited. */
  released(release: EpochReleased, releaseMs: number): void;
  close(): Promise<void>;
  address: string;
  /** Where other parts (the lease, src/fence/metrics.ts) register their metrics. */
  registry: Registry;
}

/** Starts a /metrics endpoint on host:port. */
export async function serveMetrics(host: string, port: number): Promise<LoopMetrics> {
  const registry = new Registry();
  const interval = new Gauge({ name: 'remusd_interval_seconds', help: 'Checkpoint interval in force', registers: [registry] });
  const size = new Histogram({
    name: 'remusd_checkpoint_size_bytes',
    help: 'Bytes each checkpoint had to store',
    buckets: [2 ** 16, 2 ** 18, 2 ** 20, 2 ** 22, 2 ** 24, 2 ** 26, 2 ** 28, 2 ** 30],
    registers: [registry],
  });
  const frozen = new Histogram({
    name: 'remusd_frozen_seconds',
    help: 'Time the workload was frozen by each checkpoint',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const checkpoints = new Counter({ name: 'remusd_checkpoints_total', help: 'Checkpoints taken', registers: [registry] });
  const inBandTotal = new Counter({ name: 'remusd_checkpoints_in_band_total', help: 'Checkpoints whose size was within [lmin, lmax]', registers: [registry] });
  const outputPackets = new Counter({ name: 'remusd_output_released_packets_total', help: 'Outbound packets held by output commit and released', registers: [registry] });
  const outputBytes = new Counter({ name: 'remusd_output_released_bytes_total', help: 'Outbound bytes held by output commit and released', registers: [registry] });
  const outputDropped = new Counter({ name: 'remusd_output_dropped_packets_total', help: 'Outbound packets dropped because held bytes reached output_commit.max_held', registers: [registry] });
  const latencyBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5];
  const releaseSeconds = new Histogram({ name: 'remusd_output_release_seconds', help: 'Barrier to release of each epoch (how long its last packet waited)', buckets: latencyBuckets, registers: [registry] });
  const holdSeconds = new Histogram({ name: 'remusd_output_hold_seconds', help: 'How long each released packet was held (latency added for clients)', buckets: latencyBuckets, registers: [registry] });
  const failures = new Counter({ name: 'remusd_checkpoint_failures_total', help: 'Failed CRIU runs', registers: [registry] });

  const server: Server = createServer((request, response) => {
    if (request.url !== '/metrics') {
      response.writeHead(404).end('see /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const bound = server.address();
  const address = typeof bound === 'object' && bound !== null ? `${bound.address}:${bound.port}` : `${host}:${port}`;
  return {
    address,
    registry,
    observe(record, band) {
      interval.set(record.next_interval_ms / 1000);
      size.observe(record.size_bytes);
      frozen.observe(record.frozen_us / 1e6);
      checkpoints.inc();
      if (inBand(record.size_bytes, band)) inBandTotal.inc();
    },
    failure: () => failures.inc(),
    released(release, releaseMs) {
      outputPackets.inc(release.packets);
      outputBytes.inc(release.bytes);
      outputDropped.inc(release.dropped);
      releaseSeconds.observe(releaseMs / 1000);
      for (const [index, count] of release.holds) {
        const { low, high } = bucketRange(index);
        for (let i = 0; i < count; i++) holdSeconds.observe((low + high) / 2 / 1e6);
      }
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
