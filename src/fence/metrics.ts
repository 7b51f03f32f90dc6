// Prometheus metrics of the lease, registered on the loop's registry when metrics.listen is set.

import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** What the fencing code reports to metrics. */
export interface FenceMetrics {
  held(held: boolean): void;
  renewed(latencyMs: number): void;
  renewFailed(msToFence: number): void;
  fenced(action: string): void;
}

export function fenceMetrics(registry: Registry): FenceMetrics {
  const held = new Gauge({
    name: 'remusd_lease_held',
    help: '1 while this process holds the leader lease in etcd, else 0',
    registers: [registry],
  });
  const renew = new Histogram({
    name: 'remusd_lease_renew_seconds',
    help: 'Latency of successful lease renewals (keepalive and key check)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'remusd_lease_renew_failures_total',
    help: 'Lease renewals that failed (etcd unreachable or slow)',
    registers: [registry],
  });
  const margin = new Gauge({
    name: 'remusd_lease_seconds_to_fence',
    help: 'After the last failed renewal: seconds left before this process fences itself',
    registers: [registry],
  });
  const fences = new Counter({
    name: 'remusd_fencing_events_total',
    help: 'Times this process fenced its workload (lease lost)',
    labelNames: ['action'],
    registers: [registry],
  });
  return {
    held: (value) => held.set(value ? 1 : 0),
    renewed: (ms) => renew.observe(ms / 1000),
    renewFailed: (ms) => {
      failures.inc();
      margin.set(ms / 1000);
    },
    fenced: (action) => {
      fences.inc({ action });
      held.set(0);
    },
  };
}
