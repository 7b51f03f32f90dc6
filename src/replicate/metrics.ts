// Prometheus metrics of `remusd ship` and `remusd backup`, each on its own endpoint (--metrics HOST:PORT):
// is the pair connected, how far behind is the backup, how many bytes went over, when was the last
// checkpoint acknowledged, how many transfers failed. Named like remusd run's (src/loop/metrics.ts): base
// units, _total counters, _timestamp_seconds for points in time.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { serveRegistry } from '../loop/metrics-server.js';
import type { ReceiveObserver, ShipObserver } from './events.js';
import type { ShipRecord } from './ship-log.js';

const LAG_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface Served {
  address: string;
  close(): Promise<void>;
}

// A registry with the process metrics and remusd_build_info{role}.
function roleRegistry(role: 'ship' | 'backup', version: string): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'remusd_build_info',
    help: 'Always 1; the labels say which remusd runs in which role',
    labelNames: ['version', 'node_version', 'role'],
    registers: [registry],
  }).set({ version, node_version: process.version, role }, 1);
  return registry;
}

/** The shipper's endpoint: remusd_ship_*. shipped() takes each acknowledged checkpoint's record. */
export async function serveShipMetrics(
  host: string,
  port: number,
  version: string,
): Promise<Served & ShipObserver & { shipped(record: ShipRecord): void }> {
  const registry = roleRegistry('ship', version);
  const registers = [registry];
  const connected = new Gauge({
    name: 'remusd_ship_connected',
    help: '1 while connected to the backup (past the TLS handshake and hello), else 0',
    registers,
  });
  const bytes = new Counter({
    name: 'remusd_ship_bytes_total',
    help: 'Checkpoint file bytes shipped and acknowledged by the backup',
    registers,
  });
  const checkpoints = new Counter({
    name: 'remusd_ship_checkpoints_total',
    help: 'Checkpoints shipped and acknowledged (ancestors included)',
    registers,
  });
  const failed = new Counter({
    name: 'remusd_ship_transfers_failed_total',
    help: 'Connections or transfers that failed (each is retried)',
    registers,
  });
  const lastAck = new Gauge({
    name: 'remusd_ship_last_ack_timestamp_seconds',
    help: 'When the backup last acknowledged a checkpoint (Unix time); alert on time() minus this',
    registers,
  });
  const lag = new Gauge({
    name: 'remusd_ship_lag_seconds',
    help: 'From the newest acknowledged checkpoint being written here to its ack',
    registers,
  });
  const lagHistogram = new Histogram({
    name: 'remusd_ship_lag_distribution_seconds',
    help: 'Written-to-acknowledged time of each shipped checkpoint',
    buckets: LAG_BUCKETS,
    registers,
  });
  connected.set(0);
  const server = await serveRegistry(registry, host, port);
  return {
    address: server.address,
    close: () => server.close(),
    connection: (up) => connected.set(up ? 1 : 0),
    failed: () => failed.inc(),
    shipped(record) {
      bytes.inc(record.bytes);
      checkpoints.inc();
      lastAck.set(Date.parse(record.acked_at) / 1000);
      if (record.ancestor_of === undefined) lag.set(record.lag_ms / 1000);
      lagHistogram.observe(record.lag_ms / 1000);
    },
  };
}

/** The backup's endpoint: remusd_backup_*. */
export async function serveBackupMetrics(
  host: string,
  port: number,
  version: string,
): Promise<Served & ReceiveObserver> {
  const registry = roleRegistry('backup', version);
  const registers = [registry];
  const senders = new Gauge({
    name: 'remusd_backup_connected_senders',
    help: 'Shippers connected now (past the TLS handshake and hello); 0: the primary is not shipping',
    registers,
  });
  const bytes = new Counter({
    name: 'remusd_backup_received_bytes_total',
    help: 'Checkpoint file bytes received, verified and acknowledged',
    registers,
  });
  const checkpoints = new Counter({
    name: 'remusd_backup_checkpoints_received_total',
    help: 'Checkpoints received, verified and acknowledged',
    registers,
  });
  const failed = new Counter({
    name: 'remusd_backup_transfers_failed_total',
    help: 'Transfers discarded: cut at a limit, ended by the sender, or rejected on verification',
    registers,
  });
  const lastAck = new Gauge({
    name: 'remusd_backup_last_ack_timestamp_seconds',
    help: 'When this backup last acknowledged a checkpoint (Unix time); alert on time() minus this',
    registers,
  });
  const lag = new Gauge({
    name: 'remusd_backup_lag_seconds',
    help: 'From the newest received checkpoint being taken on the primary (its clock: skew counts) to its ack here',
    registers,
  });
  senders.set(0);
  const server = await serveRegistry(registry, host, port);
  return {
    address: server.address,
    close: () => server.close(),
    senders: (delta) => senders.inc(delta),
    received(received, takenAt) {
      const now = Date.now();
      bytes.inc(received);
      checkpoints.inc();
      lastAck.set(now / 1000);
      lag.set(Math.max(0, now - Date.parse(takenAt)) / 1000);
    },
    failed: () => failed.inc(),
  };
}
