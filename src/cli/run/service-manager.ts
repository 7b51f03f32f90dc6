// What `remusd run` tells a service manager (systemd, Type=notify): READY=1 once the workload is protected,
// RELOADING=1 … READY=1 around a config reload, STOPPING=1 when it stops, a STATUS= line, and watchdog pings
// while the supervisor loop makes progress (src/loop/loop-health.ts).

import type { Logger } from 'pino';
import type { LoopHealth } from '../../loop/loop-health.js';
import type { CheckpointRecord } from '../../model/record.js';
import { monotonicUsec, type ServiceNotifier } from '../../process/service-notify.js';
import { formatBytes, formatMs } from '../../units/units.js';

/** STATUS= after a checkpoint at most this often: checkpoints may come every 100 ms. */
const STATUS_EVERY_MS = 1000;

export interface ServiceManagerLink {
  /** The workload runs; its first checkpoint is being taken. */
  starting(pid: number): void;
  /** A checkpoint was recorded; the first one makes the service ready. */
  checkpointed(record: CheckpointRecord, pid: number): void;
  failed(message: string): void;
  reloading(): void;
  reloaded(ok: boolean): void;
  stopping(why: string): void;
  /** Starts the watchdog pings (when the manager asked for them), gated by the loop's health. */
  watch(health: LoopHealth): void;
  close(): void;
}

/**
 * READY=1 comes with the first good checkpoint, not when the process starts: until a checkpoint exists
 * nothing can be restored, so the workload is not protected yet. `systemctl start remusd@NAME` then
 * returns once there is something to fail over to, units ordered After= it (a shipper) find a checkpoint,
 * and a workload that cannot be checkpointed at all fails the start (too many failures: exit 5) instead of
 * being reported as started.
 */
export function serviceManagerLink(notifier: ServiceNotifier, log: Logger): ServiceManagerLink {
  let ready = false;
  let reloading = false;
  let lastStatusAt = -Infinity;
  let watchdog: NodeJS.Timeout | undefined;
  let starved = false;
  let stopping = false;
  return {
    starting(pid) {
      notifier.send({ STATUS: `taking the first checkpoint of pid ${pid}` });
    },
    checkpointed(record, pid) {
      const now = performance.now();
      if (ready && now - lastStatusAt < STATUS_EVERY_MS) return;
      lastStatusAt = now;
      const status = `protecting pid ${pid}: checkpoint ${record.seq} (${formatBytes(record.size_bytes)}, ${record.mode}), next in ${formatMs(record.next_interval_ms)}`;
      notifier.send(ready ? { STATUS: status } : { READY: '1', STATUS: status });
      ready = true;
    },
    failed(message) {
      notifier.send({ STATUS: message.split('\n')[0] ?? message });
    },
    reloading() {
      if (reloading) return;
      reloading = true;
      notifier.send({ RELOADING: '1', MONOTONIC_USEC: monotonicUsec(), STATUS: 'reloading the config' });
    },
    reloaded(ok) {
      reloading = false;
      const status = ok ? 'config reloaded' : 'config reload refused (see the log); running with the last good config';
      // READY=1 ends the reload; before the first checkpoint the service is not ready, so it is not said.
      notifier.send(ready ? { READY: '1', STATUS: status } : { STATUS: status });
    },
    stopping(why) {
      if (stopping) return;
      stopping = true;
      notifier.send({ STOPPING: '1', STATUS: `stopping: ${why}` });
    },
    watch(health) {
      const periodMs = notifier.watchdogMs;
      if (periodMs === undefined) return;
      // Half the timeout, as sd_watchdog_enabled(3) advises: one late ping is not yet a missed one.
      watchdog = setInterval(() => {
        if (health.healthy()) {
          if (starved) log.info('the supervisor loop is making progress again: watchdog pings resume');
          starved = false;
          notifier.send({ WATCHDOG: '1' });
          return;
        }
        if (!starved) {
          const busy = Math.round(health.busyForMs() ?? 0);
          log.error(
            { busy_ms: busy },
            `the supervisor loop has been busy for ${busy} ms (a CRIU or a disk that does not answer?): watchdog pings stop, the service manager will restart remusd`,
          );
          notifier.send({ STATUS: `stuck: one checkpoint step has taken ${busy} ms; watchdog pings stopped` });
        }
        starved = true;
      }, periodMs / 2);
      watchdog.unref();
    },
    close() {
      clearInterval(watchdog);
      notifier.close();
    },
  };
}
