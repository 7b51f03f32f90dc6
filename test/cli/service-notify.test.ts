// `remusd run` under a service manager's notify protocol (Type=notify): PID 1 here is not systemd, so the
// test owns NOTIFY_SOCKET and receives what systemd would, with the sender's pid the kernel vouches for.
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readRecords } from '../helpers/records.js';
import { spawnCli } from '../helpers/cli.js';
import { imagesDir, testCriu } from '../helpers/criu.js';
import { openNotifySocket, type NotifySocket } from '../helpers/notify-socket.js';
import { sleep } from '../helpers/wait.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';

let workload: TestWorkload | undefined;
let socket: NotifySocket | undefined;
afterEach(async () => {
  await workload?.stop();
  await socket?.close();
  workload = undefined;
  socket = undefined;
});

const CONFIG = 'interval: { initial: 300ms, min: 300ms, max: 1s }\ncheckpoint: { mode: full, dir: ./images }\n';

/** When the WATCHDOG=1 pings among messages [from, to) arrived (CLOCK_MONOTONIC, ms). */
function pingTimes(messages: NotifySocket['received'], from = 0, to = messages.length): number[] {
  return messages
    .slice(from, to)
    .filter((m) => m.fields.WATCHDOG === '1')
    .map((m) => m.atUs / 1000);
}

describe('remusd run: systemd notify protocol on a socket the test owns (real CRIU)', () => {
  it("READY=1 with the first checkpoint, RELOADING=1 … READY=1 on SIGHUP, STOPPING=1 on SIGTERM, watchdog pings, all as remusd's pid", async () => {
    socket = await openNotifySocket();
    workload = await startWorkload(['--mib', '4']);
    const root = await imagesDir('remusd-notify-');
    const config = join(root, 'remusd.yaml');
    await writeFile(config, CONFIG);
    const env = { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '4000000' };
    const run = spawnCli(['run', '--config', config, '--pid', String(workload.pid)], { env });

    const ready = await socket.waitFor('READY', '1');
    expect(ready.message.fields.STATUS).toMatch(/^protecting pid \d+: checkpoint 1 /);
    // Readiness means a checkpoint exists: the record of checkpoint 1 is written before READY=1 is sent.
    expect((await readRecords(join(root, 'images', 'records.jsonl'))).length).toBeGreaterThanOrEqual(1);
    // Nothing before it claimed readiness; the first message said what remusd was doing.
    expect(socket.received.slice(0, ready.index).some((m) => m.fields.READY !== undefined)).toBe(false);
    expect(socket.received.find((m) => m.fields.STATUS !== undefined)?.fields.STATUS).toBe(
      `taking the first checkpoint of pid ${workload.pid}`,
    );
    // The kernel vouches that every message came from remusd's own pid: NotifyAccess=main suffices.
    expect(new Set(socket.received.map((m) => m.pid))).toEqual(new Set([run.pid]));

    // Watchdog: pings at half of WATCHDOG_USEC (2 s).
    const firstPing = await socket.waitFor('WATCHDOG', '1', ready.index);
    await socket.waitFor('WATCHDOG', '1', firstPing.index + 1);

    // Reload: RELOADING=1 with CLOCK_MONOTONIC in µs, then READY=1 when it was applied.
    const beforeHup = socket.received.length;
    process.kill(run.pid!, 'SIGHUP');
    const reloading = await socket.waitFor('RELOADING', '1', beforeHup);
    const monotonic = Number(reloading.message.fields.MONOTONIC_USEC);
    // Same clock as the receiver's time.monotonic(): sent before it was received, and not long before
    // (60 s is generous for a loaded machine; another clock would be off by the uptime or the epoch).
    expect(monotonic).toBeLessThanOrEqual(reloading.message.atUs);
    expect(reloading.message.atUs - monotonic).toBeLessThan(60_000_000);
    const reloaded = await socket.waitFor('READY', '1', reloading.index + 1);
    expect(reloaded.message.fields.STATUS).toBe('config reloaded');

    const beforeTerm = socket.received.length;
    process.kill(run.pid!, 'SIGTERM');
    const stopping = await socket.waitFor('STOPPING', '1', beforeTerm);
    expect(stopping.message.fields.STATUS).toBe('stopping: SIGTERM');
    expect((await run).exitCode).toBe(0);
    expect(new Set(socket.received.map((m) => m.pid))).toEqual(new Set([run.pid]));
  });

  it('a started workload does not inherit NOTIFY_SOCKET or WATCHDOG_USEC', async () => {
    socket = await openNotifySocket();
    const root = await imagesDir('remusd-notify-');
    const config = join(root, 'remusd.yaml');
    await writeFile(config, CONFIG);
    const env = { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: '4000000' };
    const seen = join(root, 'env.txt');
    const run = spawnCli(
      [
        'run',
        '--config',
        config,
        '--max-checkpoints',
        '1',
        '--stop-workload',
        '--',
        'sh',
        '-c',
        `env > ${seen}; exec sleep 60`,
      ],
      { env },
    );
    await socket.waitFor('READY', '1');
    expect((await run).exitCode).toBe(0);
    const environment = await readFile(seen, 'utf8');
    expect(environment).toMatch(/^PATH=/m); // the file holds the workload's environment
    expect(environment).not.toMatch(/^(NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID)=/m);
  });

  it('a stuck CRIU stops the watchdog pings; they resume once it returns', async () => {
    const criu = await testCriu();
    socket = await openNotifySocket();
    workload = await startWorkload(['--mib', '4']);
    const root = await imagesDir('remusd-notify-');
    const config = join(root, 'remusd.yaml');
    await writeFile(config, CONFIG);
    // A CRIU that hangs in `dump` while the stall file exists (before it touches the workload), else real.
    const stall = join(root, 'stall');
    const wrapper = join(root, 'criu-wrapper');
    await writeFile(
      wrapper,
      `#!/bin/sh\ncase " $* " in *" dump "*) while [ -e ${stall} ]; do sleep 0.1; done ;; esac\nexec ${criu.command} "$@"\n`,
    );
    await chmod(wrapper, 0o755);
    // 3 s: a healthy full dump of 4 MiB takes well under a second even on a loaded machine.
    const watchdogMs = 3000;
    const run = spawnCli(['run', '--config', config, '--criu', wrapper, '--pid', String(workload.pid)], {
      env: { NOTIFY_SOCKET: socket.path, WATCHDOG_USEC: String(watchdogMs * 1000) },
    });
    const ready = await socket.waitFor('READY', '1');
    await socket.waitFor('WATCHDOG', '1', ready.index);

    const stalledFrom = socket.received.length;
    await writeFile(stall, '');
    const stuck = await waitForStatus(socket, /^stuck: one checkpoint step has taken \d+ ms/, stalledFrom);
    // Hold CRIU stuck for three more watchdog periods: a service manager would have acted by now.
    await sleep(3 * watchdogMs);
    expect(pingTimes(socket.received, stuck.index)).toEqual([]);
    // Before the stall, pings came (at least one after the stall file appeared and before the step ran
    // longer than the timeout is possible, none is required).
    expect(pingTimes(socket.received, 0, stalledFrom).length).toBeGreaterThanOrEqual(1);

    // Negative control: the same remusd pings again as soon as CRIU returns, so the silence was the stall.
    const resumeFrom = socket.received.length;
    await rm(stall);
    await socket.waitFor('WATCHDOG', '1', resumeFrom);
    process.kill(run.pid!, 'SIGTERM');
    expect((await run).exitCode).toBe(0);
  });
});

async function waitForStatus(socket: NotifySocket, pattern: RegExp, start: number) {
  for (let from = start; ;) {
    const found = await socket.waitFor('STATUS', undefined, from);
    if (pattern.test(found.message.fields.STATUS!)) return found;
    from = found.index + 1;
  }
}
