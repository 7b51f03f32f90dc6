import { mkdirSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rename, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:tls';
import { join } from 'node:path';
import type { ResultPromise } from 'execa';
import { afterEach, expect } from 'vitest';
import { newRunIdentity, readRunIdentity, writeRunIdentity, type RunIdentity } from '../../src/store/run-identity.js';
import type { CheckpointRecord } from '../../src/model/record.js';
import { RUNS_DIR } from '../../src/replicate/backup-runs.js';
import type { Manifest, ManifestFile } from '../../src/replicate/messages.js';
import { Channel } from '../../src/replicate/channel.js';
import type { ReplicationLog } from '../../src/replicate/events.js';
import type { FailoverReport } from '../../src/replicate/failover-report.js';
import type { ShipRecord } from '../../src/replicate/ship-log.js';
import { startReceiver, type Receiver, type ReceiverLimits } from '../../src/replicate/receiver.js';
import { loadCredentials, writePair, type Credentials } from '../../src/replicate/tls/files.js';
import { generatePair } from '../../src/replicate/tls/generate.js';
import { clientTlsOptions } from '../../src/replicate/tls/options.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { imagesDir } from '../helpers/criu.js';
import { readJsonLines } from '../helpers/records.js';
import { startWorkload, type TestWorkload } from '../helpers/workload.js';
import { waitFor } from '../helpers/wait.js';

/** A log that keeps its lines, for assertions. */
export function collectingLog(): ReplicationLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message, fields) => void lines.push(`info ${message} ${JSON.stringify(fields ?? {})}`),
    warn: (message, fields) => void lines.push(`warn ${message} ${JSON.stringify(fields ?? {})}`),
  };
}

/** The run of a primary images directory, made as a starting supervisor would if it has none yet. */
export async function primaryRun(root: string): Promise<RunIdentity> {
  mkdirSync(root, { recursive: true });
  const existing = readRunIdentity(root);
  if (existing !== undefined) return existing;
  const run = newRunIdentity(new Date());
  await writeRunIdentity(root, run);
  return run;
}

/**
 * Writes a fake checkpoint ROOT/NAME (files of pseudo-random bytes, an optional parent link) as the
 * supervisor would publish it, and points latest at it (ROOT gets a run.json if it has none).
 */
export async function fakeCheckpoint(
  root: string,
  name: string,
  parent: string | null,
  sizes: Record<string, number>,
): Promise<void> {
  await primaryRun(root);
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [file, size] of Object.entries(sizes)) {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 131 + name.charCodeAt(7) * 7 + file.length) & 0xff;
    await writeFile(join(dir, file), bytes);
  }
  if (parent !== null) await symlink(`../${parent}`, join(dir, 'parent'));
  await symlink(name, join(root, `.latest.tmp`));
  await rename(join(root, '.latest.tmp'), join(root, 'latest'));
}

/** A manifest for hand-made offers (taken now unless `takenAt`). */
export function manifestOf(
  run: string,
  name: string,
  parent: string | null,
  files: ManifestFile[],
  takenAt = new Date(),
): Manifest {
  return { format: 1, run, name, parent, taken_at: takenAt.toISOString(), files };
}

/** The backup's directory of run `id` (or of its only run). */
export async function backupRunDir(backup: string, id?: string): Promise<string> {
  if (id !== undefined) return join(backup, RUNS_DIR, id);
  const runs = await readdir(join(backup, RUNS_DIR));
  if (runs.length !== 1) throw new Error(`${backup} holds ${runs.length} runs, not one: ${runs.join(', ')}`);
  return join(backup, RUNS_DIR, runs[0]!);
}

/** The newest checkpoint of the backup's only run ('' if there is none yet). */
export async function backupLatest(backup: string): Promise<string> {
  return readlink(join(await backupRunDir(backup).catch(() => backup), 'latest')).catch(() => '');
}

/** A pair's key material as `remusd keys init` writes it: DIRS for the CLI, loaded credentials for the API. */
export interface TestPair {
  primaryDir: string;
  backupDir: string;
  primary: Credentials;
  backup: Credentials;
}

/** A new pair of keys in a temporary directory. */
export async function makePair(): Promise<TestPair> {
  const dirs = writePair(join(await imagesDir('remusd-keys-'), 'keys'), await generatePair(1));
  return {
    primaryDir: dirs.primary,
    backupDir: dirs.backup,
    primary: loadCredentials(dirs.primary, 'primary'),
    backup: loadCredentials(dirs.backup, 'backup'),
  };
}

let shared: Promise<TestPair> | undefined;
/** The pair a test file's primaries and backups share (made once per file). */
export function testPair(): Promise<TestPair> {
  return (shared ??= makePair());
}

/** A receiver on an ephemeral loopback port, with the test pair's backup keys. */
export async function loopbackReceiver(
  root: string,
  keep = 5,
  limits: Partial<ReceiverLimits> = {},
): Promise<Receiver & { log: ReturnType<typeof collectingLog> }> {
  const log = collectingLog();
  const receiver = await startReceiver(
    { host: '127.0.0.1', port: 0 },
    { root, keep, log, credentials: (await testPair()).backup, limits },
  );
  return Object.assign(receiver, { log });
}

/**
 * Receivers and channels that a test file opens, each closed after its test: call once at the top of the
 * file (it registers the afterEach).
 */
export function closedAfterEach(): {
  receiver(root: string, keep?: number): Promise<Receiver & { log: ReturnType<typeof collectingLog> }>;
  channel(channel: Channel): Channel;
} {
  const receivers: Receiver[] = [];
  const channels: Channel[] = [];
  afterEach(async () => {
    for (const channel of channels.splice(0)) channel.destroy();
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });
  return {
    async receiver(root, keep = 5) {
      const receiver = await loopbackReceiver(root, keep);
      receivers.push(receiver);
      return receiver;
    },
    channel(channel) {
      channels.push(channel);
      return channel;
    },
  };
}

/** An authenticated channel to a receiver (the test pair's primary), with no hello sent: tests speak the protocol by hand. */
export async function rawChannel(port: number, credentials?: Credentials): Promise<Channel> {
  const socket = connect({ host: '127.0.0.1', port, ...clientTlsOptions(credentials ?? (await testPair()).primary) });
  await new Promise((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return new Channel(socket);
}

/** Whether two files have the same bytes. */
export async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

// The one wait helper and the one JSON-lines reader, re-exported for the replication tests' imports.
export { waitFor } from '../helpers/wait.js';
export { readJsonLines } from '../helpers/records.js';

/** A remusd CLI process running in the background, with what it wrote so far. */
export interface Daemon {
  process: ResultPromise;
  /** Its stdout so far. */
  out: () => string;
  /** Its stderr (the log) so far. */
  log: () => string;
  running: () => boolean;
}

const daemons: ResultPromise[] = [];

/** Starts `remusd ARGS…` in the background; stopDaemons() kills it. */
export function daemon(args: string[]): Daemon {
  const child = spawnCli(args);
  daemons.push(child);
  let out = '';
  let log = '';
  let running = true;
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  void child.finally(() => (running = false));
  return { process: child, out: () => out, log: () => log, running: () => running };
}

/** SIGKILLs every daemon started since the last call and waits for each (for afterEach). */
export async function stopDaemons(): Promise<void> {
  for (const child of daemons.splice(0)) {
    child.kill('SIGKILL');
    await child;
  }
}

/**
 * Daemons and workloads that a test file starts, stopped after each test (daemons first, then workloads):
 * call once at the top of the file (it registers the afterEach).
 */
export function stoppedAfterEach(): { workload(args: string[]): Promise<TestWorkload> } {
  const workloads: TestWorkload[] = [];
  afterEach(async () => {
    await stopDaemons();
    for (const workload of workloads.splice(0)) await workload.stop();
  });
  return {
    async workload(args) {
      const workload = await startWorkload(args);
      workloads.push(workload);
      return workload;
    },
  };
}

/** The argument list of `remusd backup --dir DIR` on an ephemeral loopback port with the test pair's keys, ARGS after. */
export async function backupArgs(dir: string, args: string[] = []): Promise<string[]> {
  return ['backup', '--dir', dir, '--listen', '127.0.0.1:0', '--keys', (await testPair()).backupDir, ...args];
}

/** Starts `remusd backup --dir DIR ARGS…` on an ephemeral loopback port, with the test pair's keys; returns once it listens. */
export async function startBackup(dir: string, args: string[] = []): Promise<Daemon & { port: number }> {
  const backup = daemon(await backupArgs(dir, args));
  // 30 s only bounds a hung start: at load average ~19 the CLI alone took 3-4 s to start, and a redis
  // failover test once failed here at 10 s.
  const port = await waitFor(
    'the backup to listen',
    () => Number(/listening on 127\.0\.0\.1:(\d+)/.exec(backup.out())?.[1]) || undefined,
    30_000,
  );
  return { ...backup, port };
}

/** The argument list of `remusd ship` from IMAGES to the backup on 127.0.0.1:PORT, with the test pair's keys. */
export async function shipArgs(images: string, backupPort: number, args: string[] = []): Promise<string[]> {
  return [
    'ship',
    '--images',
    images,
    '--keys',
    (await testPair()).primaryDir,
    '--to',
    `127.0.0.1:${backupPort}`,
    ...args,
  ];
}

/** Starts `remusd ship` from IMAGES to the backup on 127.0.0.1:PORT (ARGS after) in the background. */
export async function startShipper(images: string, backupPort: number, args: string[] = []): Promise<Daemon> {
  return daemon(await shipArgs(images, backupPort, args));
}

/**
 * Runs `remusd run --pid PID --max-checkpoints COUNT` with writeRunConfig(ROOT, MODE) to its end (it must exit 0)
 * and returns the name of the newest checkpoint in ROOT/images.
 */
export async function takeCheckpoints(
  root: string,
  pid: number,
  mode: 'delta' | 'full',
  count: number,
): Promise<string> {
  const config = await writeRunConfig(root, mode);
  const run = await runCli(['run', '--config', config, '--pid', String(pid), '--max-checkpoints', String(count)]);
  expect(run.exitCode, run.stderr).toBe(0);
  return readlink(join(root, 'images', 'latest'));
}

/** Waits until the shipper's records (ship.jsonl) say checkpoint NAME was acknowledged; returns them all. */
export async function waitForShipped(records: string, name: string, timeoutMs = 20_000): Promise<ShipRecord[]> {
  return waitFor(
    `checkpoint ${name} acknowledged in ${records}`,
    async () => {
      const lines = await readJsonLines<ShipRecord>(records);
      return lines.some((r) => r.name === name) ? lines : undefined;
    },
    timeoutMs,
  );
}

/** A primary replicated to a backup on this machine, as replicated() leaves it. */
export interface Replicated {
  root: string;
  /** ROOT/images: the primary's checkpoints. */
  images: string;
  /** ROOT/backup: the backup's directory. */
  backupDir: string;
  /** ROOT/ship.jsonl: the shipper's records. */
  records: string;
  backup: Daemon & { port: number };
  shipper: Daemon;
  /** The newest checkpoint, on the primary and (acknowledged) on the backup. */
  newest: string;
  /** The shipper's records once the newest checkpoint was acknowledged. */
  shipped: ShipRecord[];
}

/**
 * The set-up the replication tests share: `remusd backup` (BACKUP_ARGS after the test pair's keys) in
 * ROOT/backup, `remusd ship` from ROOT/images with records in ROOT/ship.jsonl (SHIP_ARGS after), then `remusd
 * run` takes COUNT checkpoints of PID in MODE. Returns once the newest is acknowledged and the backup's latest.
 */
export async function replicated(options: {
  pid: number;
  mode: 'delta' | 'full';
  count: number;
  backupArgs?: string[];
  shipArgs?: string[];
}): Promise<Replicated> {
  const root = await imagesDir();
  const images = join(root, 'images');
  const backupDir = join(root, 'backup');
  const records = join(root, 'ship.jsonl');
  const backup = await startBackup(backupDir, options.backupArgs);
  const shipper = await startShipper(images, backup.port, ['--records', records, ...(options.shipArgs ?? [])]);
  const newest = await takeCheckpoints(root, options.pid, options.mode, options.count);
  const shipped = await waitForShipped(records, newest);
  expect(await backupLatest(backupDir)).toBe(newest);
  return { root, images, backupDir, records, backup, shipper, newest, shipped };
}

/** The backup's failover.json in DIR, or null while it has written none. */
export async function readFailoverReport(dir: string): Promise<FailoverReport | null> {
  const text = await readFile(join(dir, 'failover.json'), 'utf8').catch(() => undefined);
  return text === undefined ? null : (JSON.parse(text) as FailoverReport);
}

/** Waits for the backup in DIR to write failover.json, and returns it. */
export async function waitForFailoverReport(dir: string, timeoutMs = 10_000): Promise<FailoverReport> {
  return waitFor('failover.json', async () => (await readFailoverReport(dir)) ?? undefined, timeoutMs);
}

/** The workload's write count at its last progress line before checkpoint `name` (in images) started. */
export async function writesBefore(images: string, name: string, workload: TestWorkload): Promise<number> {
  const record = (await readJsonLines<CheckpointRecord>(join(images, 'records.jsonl'))).find(
    (r) => r.seq === Number(name),
  )!;
  return (await workload.read()).progress.filter((p) => p.realMs <= Date.parse(record.start)).at(-1)!.writes;
}

/** The restored workload runs on from at least `floor` writes, with every page intact; returns where it resumed. */
export async function expectResumed(workload: TestWorkload, linesAtDeath: number, floor: number): Promise<number> {
  const after = await workload.waitForProgress(3);
  expect(after.corrupt).toEqual([]); // the dirtier checks every page of its restored memory
  const resumed = after.progress.slice(linesAtDeath);
  expect(resumed.length).toBeGreaterThanOrEqual(3);
  expect(resumed[0]!.writes).toBeGreaterThanOrEqual(floor);
  return resumed[0]!.writes;
}

/** Writes ROOT/remusd.yaml for `remusd run`: interval 300 ms in [200 ms, 1 s], images in ROOT/images, keep 5. */
export async function writeRunConfig(root: string, mode: 'delta' | 'full'): Promise<string> {
  const path = join(root, 'remusd.yaml');
  await writeFile(
    path,
    `interval: { initial: 300ms, min: 200ms, max: 1s }\ncheckpoint: { mode: ${mode}, dir: ./images, retention: { keep: 5 } }\n`,
  );
  return path;
}
