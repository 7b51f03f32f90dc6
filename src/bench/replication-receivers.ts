// The receiving side of `npm run bench replication`, in its own thread as the backup is in its own
// process: a plain TCP copy server, a raw TLS copy server and a real replication receiver. The bench's
// main thread tells it where the next copy goes and hears back when the last byte is written.
import { createWriteStream, mkdirSync } from 'node:fs';
import { createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { silentLog } from '../replicate/events.js';
import { DATA_CHUNK_BYTES } from '../replicate/protocol.js';
import { startReceiver } from '../replicate/receiver.js';
import { loadCredentials } from '../replicate/tls/files.js';
import { serverTlsOptions } from '../replicate/tls/options.js';
import { at } from '../at.js';

/** What the main thread asks: the next connection on `kind` is a copy of `files` into `into`. */
export interface ExpectCopy {
  kind: 'tcp' | 'tls';
  into: string;
  files: [string, number][];
}

/** What the receivers' thread tells the main thread. */
export type ReceiversReply =
  | { type: 'ports'; tcp: number; tls: number; receiver: number }
  | { type: 'expecting' }
  | { type: 'copied' }
  | { type: 'failed'; message: string };

const NOT_A_WORKER = 'replication-receivers.js runs as the worker thread of `npm run bench replication`';
const { backupKeys, backupDir }: { backupKeys: unknown; backupDir: unknown } = workerData ?? {};
if (typeof backupKeys !== 'string' || typeof backupDir !== 'string') throw new Error(NOT_A_WORKER);
const port = mainThread();
const say = (reply: ReceiversReply) => port.postMessage(reply);
const backup = loadCredentials(backupKeys, 'backup');
const servers = { tcp: createTcpServer(), tls: createTlsServer(serverTlsOptions(backup, 5_000)) };
let expected: ExpectCopy | undefined;

const onCopy = (socket: Socket) => {
  const copy = expected;
  expected = undefined;
  if (copy === undefined) {
    // Only the bench connects here, after announcing each copy: anything else is a bug in the bench.
    socket.destroy();
    say({ type: 'failed', message: 'a connection arrived with no copy announced' });
    return;
  }
  receiveFiles(socket, copy.into, copy.files).then(
    () => say({ type: 'copied' }),
    (error: Error) => say({ type: 'failed', message: error.message }),
  );
};
servers.tcp.on('connection', onCopy);
servers.tls.on('secureConnection', onCopy);

// Writes each file as its bytes arrive, in writes of up to 256 KiB whatever the socket's chunk size (TLS
// hands over 16 KiB records, TCP up to 64 KiB), as the replication receiver writes its 256 KiB frames.
async function receiveFiles(socket: Socket, into: string, files: [string, number][]): Promise<void> {
  mkdirSync(into, { recursive: true });
  const open = (i: number) => {
    const [name, size] = at(files, i);
    return { out: createWriteStream(join(into, name)), left: size };
  };
  let index = 0;
  let { out, left } = open(0);
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const bytes = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  };
  for await (const chunk of socket) {
    let data: Buffer = chunk; // a socket with no encoding set yields Buffers (typed any)
    while (data.length > 0) {
      const n = Math.min(left, data.length);
      pending.push(data.subarray(0, n));
      pendingBytes += n;
      data = data.subarray(n);
      left -= n;
      if (pendingBytes >= DATA_CHUNK_BYTES || left === 0) await flush();
      if (left === 0) {
        await new Promise<void>((resolve, reject) =>
          out.end((error?: Error | null) => (error ? reject(error) : resolve())),
        );
        if (++index === files.length) return void socket.end();
        ({ out, left } = open(index));
      }
    }
  }
  throw new Error('the copy ended early');
}

function mainThread(): MessagePort {
  if (parentPort === null) throw new Error(NOT_A_WORKER);
  return parentPort;
}

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('the receiver is not listening on a TCP port');
  return address.port;
}

const receiver = await startReceiver(
  { host: '127.0.0.1', port: 0 },
  { root: backupDir, keep: 1, log: silentLog, credentials: backup },
);
port.on('message', (message: ExpectCopy | { type: 'close' }) => {
  if ('type' in message) {
    servers.tcp.close();
    servers.tls.close();
    void receiver.close().then(() => port.close());
    return;
  }
  expected = message;
  say({ type: 'expecting' });
});
say({
  type: 'ports',
  tcp: await listening(servers.tcp),
  tls: await listening(servers.tls),
  receiver: receiver.endpoint.port,
});
