// systemd's notify protocol (sd_notify(3)) for Type=notify units: readiness, reloads, stopping, a status
// line and watchdog pings, as datagrams to the unix socket NOTIFY_SOCKET names.
//
// Node has no unix datagram sockets. Considered: the npm packages sd-notify (binds libsystemd: needs its
// headers and node-gyp at install) and unix-dgram (a nan addon, node-gyp at every `npm ci`); and
// `systemd-notify` per message, which needs NotifyAccess=all and races: systemd finds the unit of a message
// by its sender's pid, and a systemd-notify that has already exited is found in no unit (the message is
// dropped). NotifyAccess=all would also let the workload, which runs in remusd's cgroup, send WATCHDOG=1.
// Chosen: a bundled C helper (src/process/notify-helper.c, built like the gate's and the workload's), one
// process for the whole run, which sends each message with remusd's pid as its credentials, so the unit
// keeps NotifyAccess=main.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from './compile.js';

/** One notification: sd_notify's KEY=VALUE assignments (READY=1, STATUS=...). */
export type Notification = Record<string, string>;

/** Where remusd's notifications go. */
export interface ServiceNotifier {
  /** False when remusd does not run under a service manager that listens (NOTIFY_SOCKET unset). */
  readonly enabled: boolean;
  /** The watchdog period the manager expects (WATCHDOG_USEC, for this process), in ms; undefined: none. */
  readonly watchdogMs: number | undefined;
  send(notification: Notification): void;
  /** Stops the helper (its stdin closes; messages already written are sent). */
  close(): void;
}

/** A notifier that sends nothing: no service manager listens. */
export const silentNotifier: ServiceNotifier = {
  enabled: false,
  watchdogMs: undefined,
  send: () => undefined,
  close: () => undefined,
};

/** How a STATUS= or other value may look on the wire: one line, bounded (the helper cuts at 4096 bytes). */
const MAX_VALUE = 1024;

/** The text of one datagram: KEY=VALUE lines; values are made one line (a newline would start a new key). */
export function formatNotification(notification: Notification): string {
  return Object.entries(notification)
    .map(([key, value]) => `${key}=${value.replace(/[\n\0]/g, ' ').slice(0, MAX_VALUE)}`)
    .join('\n');
}

/** CLOCK_MONOTONIC in µs, as RELOADING=1 wants it in MONOTONIC_USEC (libuv's hrtime reads CLOCK_MONOTONIC). */
export function monotonicUsec(): string {
  return String(process.hrtime.bigint() / 1000n);
}

/**
 * The watchdog period from the environment: WATCHDOG_USEC, when WATCHDOG_PID is unset or names this
 * process (a variable inherited from a parent is meant for that parent).
 */
export function watchdogMsFrom(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isSafeInteger(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== String(pid)) return undefined;
  return usec / 1000;
}

/**
 * Starts the notifier for NOTIFY_SOCKET, when it is set, and removes NOTIFY_SOCKET, WATCHDOG_USEC and
 * WATCHDOG_PID from this process's environment: they are meant for remusd, not for the workload it starts.
 */
export async function startServiceNotifier(
  env: NodeJS.ProcessEnv = process.env,
  onError: (line: string) => void = () => undefined,
): Promise<ServiceNotifier> {
  const socket = env.NOTIFY_SOCKET;
  const watchdogMs = watchdogMsFrom(env);
  delete env.NOTIFY_SOCKET;
  delete env.WATCHDOG_USEC;
  delete env.WATCHDOG_PID;
  if (socket === undefined || socket === '') return silentNotifier;
  const binary = await ensureBundledBinary(join(packageRoot(), 'src', 'process', 'notify-helper.c'), 'remusd-notify');
  const child: ChildProcessWithoutNullStreams = spawn(binary, ['--parent', String(process.pid)], {
    stdio: 'pipe',
    env: { NOTIFY_SOCKET: socket },
  });
  child.stdin.on('error', () => undefined); // a helper that died is reported by its stderr and exit
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => text.split('\n').filter(Boolean).forEach(onError));
  child.on('exit', (code, signal) => {
    if (code !== 0)
      onError(
        `the notify helper exited (${signal ?? `code ${code}`}): no more notifications reach the service manager`,
      );
  });
  // The helper never keeps remusd alive: close() ends its stdin, and it exits on EOF.
  child.unref();
  return {
    enabled: true,
    watchdogMs,
    send: (notification) => {
      if (!child.stdin.writable) return;
      child.stdin.write(`${formatNotification(notification)}\0`);
    },
    close: () => child.stdin.end(),
  };
}
