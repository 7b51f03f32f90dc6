#!/usr/bin/env node
// `npm run test:vm`: runs the tests in test/vm/ (pre-dump and incremental dumps, which need soft-dirty
// tracking) inside ONE boot of the soft-dirty VM (run.sh beside this file), with the project's vitest and
// vitest.vm.config.ts. See "VM tests" in README.md beside this file.
//   node scripts/vm/run-tests.mjs [VITEST ARGS...]     e.g. test/vm/pre-dump.test.ts, or -t 'frozen'
// Before booting it builds, on the host, what the guest would otherwise build on its slow read-only root:
// dist/ (when a source is newer than the last build) and the bundled dirtier workload.
// Exit status: vitest's (0 when every test passed), 124 when the VM timed out (REMUSD_VM_TEST_TIMEOUT seconds,
// default 1500: the redis failover tests alone take 5-7 min under emulation), 125 when it failed to report a
// status, 1 when the build failed.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const RESULTS = path.join(ROOT, '.remusd', 'vm-results');
const TIMEOUT_S = Number(process.env.REMUSD_VM_TEST_TIMEOUT ?? 1500);

function say(message) {
  process.stderr.write(`test:vm: ${message}\n`);
}

/** True when any file under dir (recursively) was modified after `since` (ms). */
function newerThan(dir, since) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() ? newerThan(full, since) : fs.statSync(full).mtimeMs > since) return true;
  }
  return false;
}

/** Builds dist/ with tsc when it is missing or older than a source file (the rule of scripts/setup.sh). */
function buildDist() {
  const cli = path.join(ROOT, 'dist', 'cli', 'main.js');
  const builtAt = fs.existsSync(cli) ? fs.statSync(cli).mtimeMs : -1;
  const configs = ['tsconfig.json', 'tsconfig.build.json'].map((f) => fs.statSync(path.join(ROOT, f)).mtimeMs);
  if (builtAt >= 0 && !newerThan(path.join(ROOT, 'src'), builtAt) && configs.every((t) => t <= builtAt)) return;
  say('building dist/ (npm run build)');
  const tsc = spawnSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'inherit' });
  if (tsc.status !== 0) {
    say(`the build failed (tsc exited with ${tsc.status ?? tsc.signal}): not booting the VM`);
    process.exit(1);
  }
}

const started = Date.now();
buildDist();
const { ensureDirtierBinary } = await import(path.join(ROOT, 'dist', 'workload', 'build.js'));
let dirtier;
try {
  dirtier = await ensureDirtierBinary();
} catch (error) {
  say(error.message);
  process.exit(1);
}
say(`dirtier workload: ${path.relative(ROOT, dirtier)}`);
fs.rmSync(RESULTS, { recursive: true, force: true });
fs.mkdirSync(RESULTS, { recursive: true });

const vitest = [
  path.join(ROOT, 'node_modules', '.bin', 'vitest'),
  'run',
  '--config',
  'vitest.vm.config.ts',
  ...process.argv.slice(2),
];
const vm = spawn(
  path.join(ROOT, 'scripts', 'vm', 'run.sh'),
  [
    '--timeout',
    String(TIMEOUT_S),
    '--cwd',
    ROOT,
    '--share',
    RESULTS,
    '--env',
    `REMUSD_VM_RESULTS=${RESULTS}`,
    '--',
    ...vitest,
  ],
  { stdio: 'inherit' },
);
// run.sh kills qemu when it gets one of these; pass them on rather than leave it behind.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => vm.kill(signal));

vm.on('exit', (code, signal) => {
  const status = code ?? 128 + (signal === 'SIGINT' ? 2 : 15);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const what =
    status === 0
      ? 'all VM tests passed'
      : status === 124
        ? `the VM timed out after ${TIMEOUT_S} s`
        : status === 125
          ? 'the VM failed without reporting a status (see the console lines above)'
          : `failed (exit status ${status})`;
  say(`${what}; ${seconds} s in all; results in ${path.relative(ROOT, RESULTS)}/`);
  process.exit(status);
});
