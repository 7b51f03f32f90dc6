import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { errorCode, errorMessage, errorText } from '../fs/error-code.js';
import { LineReplies } from './line-replies.js';

// The gate's control socket: how `remusd ship` tells `remusd run` that the backup acknowledged checkpoint N,
// so that epoch N's output may go out. A Unix socket in the images directory, mode 0600: only its owner
// (and root) can connect, and whoever can write the images directory could forge checkpoints anyway.
//
//   client: release 00000012\n          server: ok 00000012 <packets> <bytes>\n | err <reason>\n

/** The control socket's path inside an images directory. */
export function controlSocketPath(images: string): string {
  return join(images, 'gate.sock');
}

/** Longest command line accepted; anything longer closes the connection. */
const MAX_LINE = 64;

/** Serves release requests: `release(seq)` does the work and returns what went out. */
export async function serveControlSocket(
  path: string,
  release: (seq: number) => Promise<{ packets: number; bytes: number }>,
): Promise<Server> {
  rmSync(path, { force: true }); // a crashed run's socket
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handle(socket, release);
  });
  // close() also drops the shipper's connection: net.Server.close() alone waits for it, and a fenced
  // `remusd run` (its gate destroyed, its exit status set) stayed alive as long as `remusd ship` was connected.
  const closeServer = server.close.bind(server);
  server.close = (callback) => {
    for (const socket of sockets) socket.destroy();
    return closeServer(callback);
  };
  const previous = process.umask(0o177); // created 0600: no window in which others could connect
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
  } finally {
    process.umask(previous);
  }
  chmodSync(path, 0o600);
  return server;
}

function handle(socket: Socket, release: (seq: number) => Promise<{ packets: number; bytes: number }>): void {
  let buffer = '';
  let chain: Promise<void> = Promise.resolve();
  socket.setEncoding('utf8');
  socket.on('error', () => undefined);
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      chain = chain.then(() => answer(line));
    }
    if (buffer.length > MAX_LINE) socket.destroy();
  });
  const answer = async (line: string) => {
    const match = /^release (\d{8})$/.exec(line);
    if (match === null) {
      socket.write(`err expected "release NNNNNNNN"\n`);
      return;
    }
    try {
      const released = await release(Number(match[1]));
      socket.write(`ok ${match[1]} ${released.packets} ${released.bytes}\n`);
    } catch (error) {
      socket.write(`err ${errorMessage(error).replace(/\n/g, ' ')}\n`);
    }
  };
}

/** The shipper's end: one connection, one release at a time. */
export class ControlClient {
  private readonly replies = new LineReplies(4096);

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (!this.replies.push(chunk)) socket.destroy(new Error('gate control socket: answer too long'));
    });
    socket.on('error', (error) => this.replies.fail(error));
    socket.on('close', () => this.replies.fail(new Error('gate control socket closed')));
  }

  static connect(path: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('connect', () => resolve(new ControlClient(socket)));
      socket.once('error', reject);
    });
  }

  /** Asks the supervisor to release every epoch up to checkpoint `name`; returns what went out. */
  async release(name: string): Promise<{ packets: number; bytes: number }> {
    const reply = this.replies.next();
    if (this.replies.failed === undefined) this.socket.write(`release ${name}\n`);
    const line = await reply;
    const match = /^ok \d{8} (\d+) (\d+)$/.exec(line);
    if (match === null) throw new Error(`gate: release ${name}: ${line}`);
    return { packets: Number(match[1]), bytes: Number(match[2]) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The shipper's releases, to whichever `remusd run` currently serves the images directory's control socket:
 * connects on first use and again after a supervisor restart. No socket means no output commit waiting for
 * acks (release_after: fsync, or none at all): nothing to do.
 */
export class GateReleaser {
  private client: ControlClient | undefined;

  constructor(
    readonly path: string,
    private readonly warn: (message: string) => void,
  ) {}

  async release(name: string): Promise<{ packets: number; bytes: number } | undefined> {
    try {
      this.client ??= await ControlClient.connect(this.path);
    } catch (error) {
      const code = errorCode(error);
      if (code !== 'ENOENT')
        this.warn(`cannot reach the output gate at ${this.path} (${errorText(error)}); epoch ${name} stays held`);
      return undefined;
    }
    try {
      return await this.client.release(name);
    } catch (error) {
      this.client.close();
      this.client = undefined;
      this.warn(`output gate: ${errorMessage(error)}`);
      return undefined;
    }
  }

  close(): void {
    this.client?.close();
  }
}
