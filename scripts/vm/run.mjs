#!/usr/bin/env node
// Runs a command inside a qemu (TCG) VM whose kernel has soft-dirty tracking; see README.md beside this file.
// Usage: scripts/vm/run.sh [options] -- COMMAND [ARGS...]   (run.sh only execs this file with node)
//
// The guest's root is the host's / (9p, read-only) under a tmpfs overlay: the same files and tools, and
// every write is thrown away at power-off, except in --share directories. The command's stdout and stderr
// stream back on two virtio-serial ports (fifos here); its exit status comes back through the run dir (9p)
// and as a marker on the console (ttyS0, qemu's stdout here).
// Exit codes: the command's own; 124 timed out; 125 the VM failed (no exit status); 128+N interrupted by
// signal N.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXIT_TIMEOUT = 124;
const EXIT_VM_FAILED = 125;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const USAGE = `usage: scripts/vm/run.sh [options] -- COMMAND [ARGS...]
Runs COMMAND inside a VM (Debian 12 kernel with soft-dirty) whose root is the host's / (read-only,
with a throw-away tmpfs overlay). Streams its stdout/stderr; exits with its exit status.
options:
  --timeout SEC     kill the VM after SEC seconds (default 600); exit code 124
  --mem MIB         guest memory (default 2048)
  --smp N           guest CPUs (default 2)
  --cwd DIR         working directory inside the guest (default: the current directory)
  --share HOSTDIR   mount HOSTDIR read-write at the same path in the guest (repeatable): the way to get
                    files back. Note: /tmp, /run, /dev/shm are fresh tmpfs in the guest, so a host dir
                    under /tmp is only visible there when shared.
  --env NAME=VALUE  set an environment variable for COMMAND (repeatable); --env NAME copies the host's
  --verbose         show the guest's console (kernel messages, init) on stderr
  --root-cache MODE 9p cache mode of the root (default: loose; none = always re-read from the host)
The guest environment is PATH, HOME=/root, LANG=C.UTF-8, TERM=dumb, REMUSD_VM=1 plus --env.
Exit codes: COMMAND's own; 124 timed out; 125 the VM failed (no exit status); 128+N interrupted.
Environment: REMUSD_VM_CACHE (cache dir, default /var/cache/remusd-vm), REMUSD_VM_QEMU (qemu binary).`;

function die(msg, code = 2) {
  process.stderr.write(`vm: ${msg}\n`);
  process.exit(code);
}

// ---- arguments ----------------------------------------------------------------------------------------------
const opts = {
  timeout: 600,
  mem: 2048,
  smp: 2,
  cwd: process.cwd(),
  shares: [],
  env: [],
  verbose: false,
  rootCache: process.env.REMUSD_VM_ROOT_CACHE ?? 'loose',
};
const argv = process.argv.slice(2);
let command = null;
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) die(`${a} needs a value\n${USAGE}`);
    return argv[++i];
  };
  const num = (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) die(`${a}: not a positive number: ${v}`);
    return n;
  };
  if (a === '--') {
    command = argv.slice(i + 1);
    break;
  } else if (a === '--timeout') opts.timeout = num(value());
  else if (a === '--mem') opts.mem = Math.round(num(value()));
  else if (a === '--smp') opts.smp = Math.round(num(value()));
  else if (a === '--cwd') opts.cwd = value();
  else if (a === '--share') opts.shares.push(value());
  else if (a === '--env') opts.env.push(value());
  else if (a === '--verbose' || a === '-v') opts.verbose = true;
  else if (a === '--root-cache') opts.rootCache = value();
  else if (a === '--help' || a === '-h') {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  } else if (a.startsWith('-')) die(`unknown option ${a}\n${USAGE}`);
  else {
    command = argv.slice(i);
    break;
  }
}
if (!command || command.length === 0) die(`no command given\n${USAGE}`);
if (!/^[a-z]*$/.test(opts.rootCache)) die(`--root-cache: bad mode ${opts.rootCache}`);
if (!path.isAbsolute(opts.cwd)) opts.cwd = path.resolve(opts.cwd);
const shares = opts.shares.map((s) => {
  let real;
  try {
    real = fs.realpathSync(s);
  } catch {
    die(`--share ${s}: no such directory`);
  }
  if (!fs.statSync(real).isDirectory()) die(`--share ${s}: not a directory`);
  if (/[\n]/.test(real) || real === '/') die(`--share ${s}: unsupported path`);
  return real;
});
const env = [
  ['PATH', DEFAULT_PATH],
  ['HOME', '/root'],
  ['LANG', 'C.UTF-8'],
  ['TERM', 'dumb'],
  ['REMUSD_VM', '1'],
];
for (const e of opts.env) {
  const eq = e.indexOf('=');
  const [name, val] = eq < 0 ? [e, process.env[e]] : [e.slice(0, eq), e.slice(eq + 1)];
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) die(`--env ${e}: bad variable name`);
  if (val === undefined) continue;
  const k = env.findIndex(([n]) => n === name);
  if (k >= 0) env[k] = [name, val];
  else env.push([name, val]);
}

// ---- setup: kernel + initramfs ---------------------------------------------------------------------------------
const setup = spawnSync('bash', [path.join(HERE, 'setup.sh')], {
  stdio: ['ignore', 'pipe', 'inherit'],
  encoding: 'utf8',
});
if (setup.status !== 0) die(`scripts/vm/setup.sh failed (exit ${setup.status ?? setup.signal})`, EXIT_VM_FAILED);
const conf = Object.fromEntries(
  setup.stdout
    .split('\n')
    .filter((l) => l.includes('='))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);
if (!conf.KERNEL || !conf.INITRD) die('setup.sh printed no KERNEL/INITRD', EXIT_VM_FAILED);

// ---- the run dir (shared read-write with the guest at /run/remusd-vm) -------------------------------------
const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;
// Run dirs of earlier runs that were SIGKILLed (their pid file names a dead process) are removed first.
for (const name of fs.readdirSync(os.tmpdir())) {
  if (!name.startsWith('remusd-vm-')) continue;
  const dir = path.join(os.tmpdir(), name);
  try {
    const pid = Number(fs.readFileSync(path.join(dir, 'pid'), 'utf8'));
    if (!Number.isInteger(pid) || pid <= 0) continue;
    try {
      process.kill(pid, 0);
    } catch (e) {
      if (e.code === 'ESRCH') fs.rmSync(dir, { recursive: true, force: true });
    }
  } catch {
    /* not ours, or being set up */
  }
}
const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'remusd-vm-'));
fs.writeFileSync(path.join(runDir, 'pid'), String(process.pid));
const nonce = randomBytes(8).toString('hex');
fs.writeFileSync(
  path.join(runDir, 'cmd.sh'),
  [
    "# written by scripts/vm/run.sh; run by the guest's init with an empty environment",
    ...env.map(([n, v]) => `export ${n}=${sq(v)}`),
    `cd -- ${sq(opts.cwd)} || { echo ${sq(`vm: cannot cd to ${opts.cwd} in the guest`)} >&2; exit ${EXIT_VM_FAILED}; }`,
    `exec ${command.map(sq).join(' ')}`,
    '',
  ].join('\n'),
);
fs.writeFileSync(path.join(runDir, 'shares'), shares.map((p, i) => `remusd_s${i} ${p}\n`).join(''));
const outFifo = path.join(runDir, 'out.fifo');
const errFifo = path.join(runDir, 'err.fifo');
execFileSync('mkfifo', [outFifo, errFifo]);

// ---- qemu ------------------------------------------------------------------------------------------------------
const q = (s) => s.replace(/,/g, ',,'); // qemu option values: a comma is written ",,"
const virtfs = (p, tag, ro) => [
  '-virtfs',
  `local,path=${q(p)},mount_tag=${tag},security_model=none,multidevs=remap${ro ? ',readonly=on' : ''}`,
];
const qemu = process.env.REMUSD_VM_QEMU || 'qemu-system-x86_64';
const append = [
  'console=ttyS0',
  opts.verbose ? '' : 'quiet',
  'panic=-1',
  'oops=panic',
  `remusd.nonce=${nonce}`,
  `remusd.rootcache=${opts.rootCache}`,
]
  .filter(Boolean)
  .join(' ');
const qemuArgs = [
  '-accel',
  'tcg',
  '-cpu',
  'max',
  '-m',
  String(opts.mem),
  '-smp',
  String(opts.smp),
  '-display',
  'none',
  '-vga',
  'none',
  '-nodefaults',
  '-no-reboot',
  '-nic',
  'none',
  '-chardev',
  'stdio,id=con,signal=off',
  '-serial',
  'chardev:con',
  '-device',
  'virtio-serial-pci',
  '-chardev',
  `file,id=out,path=${q(outFifo)}`,
  '-device',
  'virtserialport,chardev=out,name=out',
  '-chardev',
  `file,id=err,path=${q(errFifo)}`,
  '-device',
  'virtserialport,chardev=err,name=err',
  ...virtfs('/', 'hostroot', true),
  ...virtfs(runDir, 'remusd_run', false),
  ...shares.flatMap((p, i) => virtfs(p, `remusd_s${i}`, false)),
  '-kernel',
  conf.KERNEL,
  '-initrd',
  conf.INITRD,
  '-append',
  append,
];
const t0 = Date.now();
// setpriv --pdeathsig: qemu is killed even if this process dies without cleaning up (SIGKILL).
const child = spawn('setpriv', ['--pdeathsig', 'KILL', '--', qemu, ...qemuArgs], {
  stdio: ['ignore', 'pipe', 'pipe'],
  detached: true, // its own process group: a terminal's Ctrl-C reaches only us, and we stop it
});
let qemuExited = false;
let qemuStatus = null;
const killQemu = () => {
  if (!qemuExited) {
    try {
      child.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
};

let finished = false;
function finish(code, message) {
  if (finished) return;
  finished = true;
  if (message) process.stderr.write(`vm: ${message}\n`);
  killQemu();
  const done = () => {
    try {
      fs.rmSync(runDir, { recursive: true, force: true });
    } catch {
      /* best effort */
    }
    // Exit now: a relay still blocked opening its fifo must not keep us alive.
    process.exit(code);
  };
  // Reap qemu before leaving (at most 5 s), so that no qemu outlives this command, not even as a zombie.
  if (qemuExited) done();
  else {
    child.once('exit', done);
    setTimeout(done, 5000).unref();
  }
}
process.on('exit', killQemu);
for (const [sig, n] of [
  ['SIGINT', 2],
  ['SIGTERM', 15],
  ['SIGHUP', 1],
]) {
  process.on(sig, () => finish(128 + n, `interrupted (${sig}); VM killed`));
}
process.stdout.on('error', () => {
  /* reader went away (e.g. | head): keep running, drop output */
});

// Console: kept for diagnostics (last lines), shown with --verbose; markers parsed from it.
const tail = [];
let partial = '';
let exitFromMarker = null;
let initError = null;
let started = false;
let startedAt = null;
child.stdout.setEncoding('latin1');
child.stdout.on('data', (chunk) => {
  if (opts.verbose) process.stderr.write(Buffer.from(chunk, 'latin1'));
  const lines = (partial + chunk).split('\n');
  partial = lines.pop();
  for (const raw of lines) {
    const line = raw.replace(/\r$/, '');
    tail.push(line);
    if (tail.length > 300) tail.shift();
    let m;
    if (line === `REMUSD-VM-START ${nonce}`) {
      started = true;
      startedAt = Date.now();
    } else if ((m = /^REMUSD-VM-EXIT (\d+) (\S+)$/.exec(line)) && m[2] === nonce) {
      exitFromMarker = Number(m[1]);
      // The guest powers off right after; do not wait forever if it does not.
      setTimeout(killQemu, 15000).unref();
    } else if ((m = /^REMUSD-VM-INIT-ERROR (.*)$/.exec(line))) initError = m[1];
  }
});
let qemuStderr = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (s) => {
  qemuStderr += s;
  if (qemuStderr.length > 20000) qemuStderr = qemuStderr.slice(-20000);
});

// The command's stdout/stderr: fifos that qemu writes the virtio-serial ports into.
function relay(fifo, dest) {
  return new Promise((resolve) => {
    const rs = fs.createReadStream(fifo, { highWaterMark: 65536 });
    rs.on('data', (b) => {
      if (!dest.write(b)) {
        rs.pause();
        dest.once('drain', () => rs.resume());
      }
    });
    rs.on('end', resolve);
    rs.on('error', resolve);
  });
}
const relays = Promise.all([relay(outFifo, process.stdout), relay(errFifo, process.stderr)]);

const timer = setTimeout(() => {
  finish(EXIT_TIMEOUT, `timed out after ${opts.timeout} s${started ? '' : ' (the command had not started yet)'}`);
}, opts.timeout * 1000);

const showTail = () => {
  const lines = [...tail, ...(partial ? [partial] : [])].filter((l) => l.trim() !== '');
  const key = lines.filter((l) =>
    /Kernel panic|BUG:|Oops|general protection|Out of memory|REMUSD-VM-INIT-ERROR|init: /.test(l),
  );
  if (key.length)
    process.stderr.write(
      `vm: notable console lines:\n${key
        .slice(-10)
        .map((l) => `  | ${l}`)
        .join('\n')}\n`,
    );
  if (lines.length)
    process.stderr.write(
      `vm: last console lines:\n${lines
        .slice(-25)
        .map((l) => `  | ${l}`)
        .join('\n')}\n`,
    );
  if (qemuStderr.trim())
    process.stderr.write(
      `vm: qemu said:\n${qemuStderr
        .trim()
        .split('\n')
        .slice(-10)
        .map((l) => `  | ${l}`)
        .join('\n')}\n`,
    );
};

child.on('error', (e) => finish(EXIT_VM_FAILED, `cannot start ${qemu} via setpriv: ${e.message}`));
child.on('exit', async (code, signal) => {
  qemuExited = true;
  qemuStatus = signal ? `signal ${signal}` : `exit ${code}`;
  if (finished) return;
  // Unblock a relay whose fifo qemu never opened (qemu failed early): open and close a writer.
  for (const f of [outFifo, errFifo]) {
    try {
      fs.closeSync(fs.openSync(f, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK));
    } catch {
      /* no reader */
    }
  }
  await Promise.race([relays, new Promise((r) => setTimeout(r, 5000))]);
  clearTimeout(timer);
  let status = null;
  try {
    status = Number(fs.readFileSync(path.join(runDir, 'exit'), 'utf8').trim());
  } catch {
    /* none */
  }
  if (!Number.isInteger(status)) status = exitFromMarker;
  if (process.env.REMUSD_VM_TIMING) {
    const total = (Date.now() - t0) / 1000;
    const boot = startedAt ? (startedAt - t0) / 1000 : NaN;
    process.stderr.write(`vm: timing: boot ${boot.toFixed(1)} s, total ${total.toFixed(1)} s\n`);
  }
  if (Number.isInteger(status)) return finish(status);
  if (initError) {
    showTail();
    return finish(EXIT_VM_FAILED, `the guest's init failed: ${initError}`);
  }
  showTail();
  finish(
    EXIT_VM_FAILED,
    `the VM stopped (qemu ${qemuStatus}) without reporting the command's exit status${started ? '' : ' (before the command started)'}`,
  );
});
