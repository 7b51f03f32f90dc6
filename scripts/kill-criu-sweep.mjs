// Kills CRIU at many moments of a dump of a fresh dirtier each time and classifies what is left of the
// dirtier: running / stopped / traced / dead (by which signal), with CRIU's remnants (parasite mapping,
// poked text). One JSON line per kill on stdout, a table on stderr at the end. Build first (npm run build).
// Usage (root): node scripts/kill-criu-sweep.mjs [--from 0] [--to 300] [--step 5] [--rounds 1] [--mib 128]
//   [--how sigkill|tree] [--load N] [--recover]
//   [--log-level 4]
//   --how sigkill: one SIGKILL to CRIU (what anyone may do); tree: its tree stopped, then killed (killTree);
//   safe: remusd's timeout kill, at a safe point for the workload (src/criu/safe-kill.ts).
//   --load N: N busy loops beside it for the whole sweep. --recover: run remusd's recovery after each kill.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpArgv } from '../dist/criu/dump.js';
import { locateCriu } from '../dist/criu/locate.js';
import { judgeLeftovers } from '../dist/process/criu-leftovers.js';
import { snapshotProcess } from '../dist/process/leftovers-snapshot.js';
import { startSessionLeader } from '../dist/process/session-leader.js';
import { killCriuSafely } from '../dist/criu/safe-kill.js';
import { killTree } from '../dist/process/tree.js';
import { ensureDirtierBinary } from '../dist/workload/build.js';
import { readWorkloadOutput } from '../dist/workload/progress.js';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const from = Number(option('from', 0));
const to = Number(option('to', 300));
const step = Number(option('step', 5));
const rounds = Number(option('rounds', 1));
const mib = option('mib', '128');
const how = option('how', 'sigkill');
const load = Number(option('load', 0));
const logLevel = Number(option('log-level', 4));
const recover = args.includes('--recover');
const recovery = recover ? await import('../dist/criu/recover.js') : undefined;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const criu = await locateCriu({});
const dirtier = await ensureDirtierBinary();
const loops = Array.from({ length: load }, () => spawn('sh', ['-c', 'while :; do :; done'], { stdio: 'ignore' }));
process.on('exit', () => loops.forEach((loop) => loop.kill('SIGKILL')));

async function progressLines(path) {
  return (await readWorkloadOutput(path)).progress.length;
}

async function waitForLines(path, count, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  const before = await progressLines(path);
  while (performance.now() < deadline) {
    if ((await progressLines(path)) >= before + count) return true;
    await sleep(20);
  }
  return false;
}

async function oneKill(delayMs) {
  const dir = await mkdtemp(join(tmpdir(), 'crash8-sweep-'));
  const out = join(dir, 'workload.out');
  const workload = startSessionLeader(dirtier, ['--mib', mib, '--phases', '2000:1000000', '--report-ms', '20'], out);
  let died;
  void workload.exited.then((end) => (died = end));
  try {
    if (!(await waitForLines(out, 1, 20_000))) throw new Error('the dirtier did not start');
    const images = join(dir, 'images');
    await import('node:fs/promises').then((fs) => fs.mkdir(images));
    const log = join(images, 'criu.log');
    const argv = dumpArgv({ kind: 'full', pid: workload.pid, imagesDir: images, logLevel });
    const child = spawn(criu.command, [...argv, '-o', log], { stdio: 'ignore', detached: true });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const started = performance.now();
    await sleep(delayMs);
    let safe;
    if (how === 'tree') await killTree(child.pid);
    else if (how === 'safe') safe = await killCriuSafely(child.pid, workload.pid);
    else child.kill('SIGKILL');
    const criuEnd = await exited;
    const killedAtMs = Math.round(performance.now() - started);
    const logLines = (await readFile(log, 'utf8').catch(() => '')).trimEnd().split('\n');
    const last = logLines.at(-1) ?? '';
    // Give a parasite that saw EOF time to sigreturn, and a pending SIGPIPE/SIGTRAP time to land.
    await sleep(300);
    let recovered;
    if (recovery !== undefined) recovered = await recovery.recoverAfterCriu(workload.pid, { stoppedBefore: false });
    const verdict = judgeLeftovers(await snapshotProcess(workload.pid));
    const reporting = verdict.condition === 'dead' ? false : await waitForLines(out, 3, 3000);
    const corrupt = (await readWorkloadOutput(out)).corrupt.length;
    return {
      delayMs,
      killedAtMs,
      how,
      load,
      criu: criuEnd.signal ?? `exit ${criuEnd.code}`,
      criuLogLines: logLines.length,
      criuLast: last.slice(0, 120),
      condition: verdict.condition,
      reporting,
      corrupt,
      workloadDied: died === undefined ? null : (died.signal ?? `exit ${died.code}`),
      remnants: verdict.remnants,
      stopped: verdict.stoppedThreads.length,
      traced: verdict.tracedThreads.length,
      ...(safe === undefined ? {} : { waitedMs: Math.round(safe.waitedMs), unsafe: safe.unsafe }),
      ...(recovered === undefined ? {} : { recovered: recovered.actions }),
    };
  } finally {
    try {
      process.kill(workload.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    // The workload is unref'd: a timer keeps the loop alive until its exit arrives.
    await Promise.race([workload.exited.catch(() => undefined), sleep(5000)]);
    await rm(dir, { recursive: true, force: true });
  }
}

const tally = new Map();
for (let round = 0; round < rounds; round++) {
  for (let delay = from; delay <= to; delay += step) {
    const result = await oneKill(delay);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    const key = `${result.condition}${result.reporting ? '+reporting' : ''}${result.workloadDied ? ` died:${result.workloadDied}` : ''}${result.remnants.length > 0 ? ' +remnants' : ''}`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
}
for (const [key, count] of tally) process.stderr.write(`${String(count).padStart(5)}  ${key}\n`);
// The busy loops are children that would keep this process (and the load) alive.
for (const loop of loops) loop.kill('SIGKILL');
