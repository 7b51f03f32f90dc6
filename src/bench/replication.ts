// Bench: replication over mutual TLS against a plain TCP copy of the same bytes, in the same run, on
// loopback with both directories on tmpfs (so the disk does not hide the transport's cost). Three
// transfers of one checkpoint (a 128 MiB pages image and a few small files), interleaved round by round:
//   plain TCP copy     read the files, send them over a TCP socket, write them to files: the baseline;
//   raw TLS copy       the same over a TLS 1.3 connection with the pair's certificates (the cipher's cost);
//   replication        `shipChain` to a real receiver: manifest hashing on the sender, TLS, framing, the
//                      receiver's hashing, writes, fsync and rename, offer to ack.
// The receiving ends run in a worker thread (replication-receivers.ts), as the backup is another process.
// The goal is replication ≥ 0.7× the plain copy.
import { createReadStream, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as connectTcp, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { connect as connectTls, TLSSocket } from 'node:tls';
import { Worker } from 'node:worker_threads';
import { median } from 'simple-statistics';
import { newRunIdentity, writeRunIdentity } from '../store/run-identity.js';
import { silentLog } from '../replicate/events.js';
import { readLocalCheckpoint } from '../store/manifest.js';
import { DATA_CHUNK_BYTES } from '../replicate/protocol.js';
import { connectToBackup } from '../replicate/backup-connection.js';
import { shipChain } from '../replicate/ship-chain.js';
import { loadCredentials, writePair, type Credentials } from '../replicate/tls/files.js';
import { generatePair } from '../replicate/tls/generate.js';
import { clientTlsOptions } from '../replicate/tls/options.js';
import type { BenchRow } from './harness.js';
import type { ExpectCopy, ReceiversReply } from './replication-receivers.js';

const BENCH = 'replication';
const PAGES_MIB = 128;
const SMALL_FILES = { 'core-4242.img': 2_000, 'mm-4242.img': 6_000, 'pagemap-4242.img': 40_000, 'inventory.img': 60 };
const WARMUP = 1;
const RUNS = 7;

function benchRoot(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'remusd-bench-replication-'));
}

// A checkpoint directory with incompressible-looking content (TLS does not compress, but be honest).
function writeCheckpoint(dir: string): Record<string, number> {
  mkdirSync(dir, { recursive: true });
  const sizes: Record<string, number> = { ...SMALL_FILES, 'pages-1.img': PAGES_MIB << 20 };
  for (const [name, size] of Object.entries(sizes)) {
    const bytes = Buffer.allocUnsafe(size);
    for (let i = 0; i + 4 <= size; i += 4) bytes.writeUInt32LE((i * 2654435761 + size) >>> 0, i);
    writeFileSync(join(dir, name), bytes);
  }
  return sizes;
}

// One reply from the receivers' thread.
function reply(worker: Worker): Promise<ReceiversReply> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: ReceiversReply) => (worker.off('error', onError), resolve(message));
    const onError = (error: Error) => (worker.off('message', onMessage), reject(error));
    worker.once('message', onMessage);
    worker.once('error', onError);
  });
}

// Copies the files of `dir` to `into` over one connection of `kind`: the sender streams them back to
// back; the receivers' thread writes each file and answers once the last byte is written.
async function copy(
  worker: Worker,
  kind: ExpectCopy['kind'],
  connect: () => Socket,
  ready: string,
  dir: string,
  into: string,
  sizes: Record<string, number>,
): Promise<void> {
  const files = Object.entries(sizes);
  worker.postMessage({ kind, into, files } satisfies ExpectCopy);
  await reply(worker);
  const copied = reply(worker);
  const socket = connect();
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => socket.once(ready, resolve).once('error', reject));
  for (const [name] of files)
    await pipeline(createReadStream(join(dir, name), { highWaterMark: DATA_CHUNK_BYTES }), socket, { end: false });
  const answer = await copied;
  socket.destroy();
  if (answer.type !== 'copied')
    throw new Error(`bench copy over ${kind} failed: ${answer.type === 'failed' ? answer.message : answer.type}`);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export async function run(): Promise<BenchRow[]> {
  const root = benchRoot();
  try {
    const pair = writePair(join(root, 'keys'), await generatePair(1));
    const primary: Credentials = loadCredentials(pair.primary, 'primary');
    const images = join(root, 'images');
    const sizes = writeCheckpoint(join(images, '00000001'));
    const run = newRunIdentity(new Date());
    await writeRunIdentity(images, run);
    const bytes = Object.values(sizes).reduce((a, b) => a + b, 0);

    const backupDir = join(root, 'backup');
    const worker = new Worker(new URL('./replication-receivers.js', import.meta.url), {
      workerData: { backupKeys: pair.backup, backupDir },
    });
    const ports = await reply(worker);
    if (ports.type !== 'ports') throw new Error(`the receivers' thread answered ${ports.type} before its ports`);
    const tcp = () => connectTcp({ host: '127.0.0.1', port: ports.tcp });
    const tls = () => connectTls({ host: '127.0.0.1', port: ports.tls, ...clientTlsOptions(primary) });
    const checkpoint = await readLocalCheckpoint(images, '00000001');
    let cipher = '';

    const times: Record<'tcp' | 'tls' | 'replication', number[]> = { tcp: [], tls: [], replication: [] };
    try {
      for (let round = 0; round < WARMUP + RUNS; round++) {
        const copyInto = join(root, `copy-${round}`);
        const plain = await timed(() =>
          copy(worker, 'tcp', tcp, 'connect', join(images, '00000001'), `${copyInto}-tcp`, sizes),
        );
        const encrypted = await timed(() =>
          copy(worker, 'tls', tls, 'secureConnect', join(images, '00000001'), `${copyInto}-tls`, sizes),
        );
        rmSync(`${copyInto}-tcp`, { recursive: true, force: true });
        rmSync(`${copyInto}-tls`, { recursive: true, force: true });
        rmSync(backupDir, { recursive: true, force: true }); // so that the backup does not "have" it already
        mkdirSync(backupDir);
        const replicated = await timed(async () => {
          const channel = await connectToBackup({ host: '127.0.0.1', port: ports.receiver }, primary, run);
          if (channel.socket instanceof TLSSocket) cipher ||= channel.socket.getCipher().name;
          try {
            const shipped = await shipChain(channel, '00000001', { images, log: silentLog, run });
            if (shipped[0]?.bytes !== checkpoint.bytes)
              throw new Error(`bench replication shipped ${JSON.stringify(shipped)}`);
          } finally {
            channel.destroy();
          }
        });
        if (round < WARMUP) continue;
        times.tcp.push(plain);
        times.tls.push(encrypted);
        times.replication.push(replicated);
      }
    } finally {
      worker.postMessage({ type: 'close' });
      await new Promise((resolve) => worker.once('exit', resolve));
    }
    const mbps = (ms: number) => bytes / (ms / 1000) / 1e6;
    const baseline = { name: 'plain TCP copy of the same files (read, send, write)', value: mbps(median(times.tcp)) };
    const row = (name: string, ms: number, goal: number): BenchRow => {
      const value = mbps(ms);
      return {
        bench: BENCH,
        name,
        unit: 'MB/s',
        value,
        baseline,
        ratio: value / baseline.value,
        target: `≥ ${goal}× baseline`,
        pass: value >= goal * baseline.value,
      };
    };
    const mib = (bytes / 2 ** 20).toFixed(0);
    const replication = median(times.replication);
    return [
      row(`raw TLS 1.3 copy, ${cipher} (${mib} MiB, loopback, tmpfs)`, median(times.tls), 0.7),
      row(
        `replication over mutual TLS: ship offer → ack (${mib} MiB, sender and receiver hash, fsync)`,
        replication,
        0.7,
      ),
      {
        ...row(`replication over mutual TLS, against the raw TLS copy (the protocol's own cost)`, replication, 0.7),
        baseline: { name: 'raw TLS copy of the same files', value: mbps(median(times.tls)) },
        ratio: median(times.tls) / replication,
        pass: median(times.tls) / replication >= 0.7,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
