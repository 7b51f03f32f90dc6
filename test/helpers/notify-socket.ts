import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { waitFor } from './wait.js';

/** One datagram as the service manager would see it: the sender's pid (SCM_CREDENTIALS) and its assignments. */
export interface Notification {
  pid: number;
  /** CLOCK_MONOTONIC at receipt, µs. */
  atUs: number;
  fields: Record<string, string>;
}

// The receiving end of NOTIFY_SOCKET, as systemd sets it up: a unix datagram socket with SO_PASSCRED, so
// that each message carries the pid the kernel vouches for. Node has no datagram unix sockets; python3
// (installed by scripts/setup.sh) has.
const RECEIVER = `
import json, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
print(json.dumps({"ready": True}), flush=True)
while True:
    data, anc, _, _ = s.recvmsg(8192, socket.CMSG_SPACE(12))
    pid = -1
    for level, kind, payload in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", payload)[0]
    print(json.dumps({"pid": pid, "at_us": time.monotonic_ns() // 1000, "text": data.decode()}), flush=True)
`;

/** A NOTIFY_SOCKET this test owns, and everything received on it. */
export interface NotifySocket {
  path: string;
  received: Notification[];
  /** Waits for the first message (after index `from`) that has KEY=VALUE (VALUE undefined: any). */
  waitFor(
    key: string,
    value?: string,
    from?: number,
    timeoutMs?: number,
  ): Promise<{ index: number; message: Notification }>;
  close(): Promise<void>;
}

export async function openNotifySocket(): Promise<NotifySocket> {
  if (!(await import('node:fs')).existsSync('/usr/bin/python3'))
    throw new Error('/usr/bin/python3 is missing: run scripts/setup.sh (it installs python3)');
  const dir = await mkdtemp(join(tmpdir(), 'remusd-notify-'));
  const path = join(dir, 'notify.sock');
  const child = spawn('/usr/bin/python3', ['-c', RECEIVER, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: Notification[] = [];
  let ready = false;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const parsed = JSON.parse(line) as { ready?: boolean; pid: number; at_us: number; text: string };
    if (parsed.ready === true) return void (ready = true);
    const fields = Object.fromEntries(
      parsed.text.split('\n').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    received.push({ pid: parsed.pid, atUs: parsed.at_us, fields });
  });
  await waitFor('the notify socket receiver', () => (ready ? true : undefined), 30_000);
  return {
    path,
    received,
    waitFor: (key, value, from = 0, timeoutMs = 60_000) =>
      waitFor(
        `${key}=${value ?? '*'} on NOTIFY_SOCKET`,
        () => {
          const index = received.findIndex(
            (m, i) => i >= from && m.fields[key] !== undefined && (value === undefined || m.fields[key] === value),
          );
          return index < 0 ? undefined : { index, message: received[index]! };
        },
        timeoutMs,
        20,
      ),
    async close() {
      child.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}
