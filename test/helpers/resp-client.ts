// A tiny redis (RESP2) client over node:net for the network-service tests: ONE TCP connection for its
// whole life (it never reconnects, so a failover that breaks the connection shows), every acknowledged
// INCR value recorded, and everything that happened to the socket (end, close, error) with its time.

import { createConnection, type Socket } from 'node:net';
import { waitFor } from './wait.js';

/** A RESP reply: a simple string, an integer, a bulk string (null for nil), an array, or an error. */
export type RespReply = string | number | null | RespReply[] | RespError;

export class RespError extends Error {
  override name = 'RespError';
}

/** Something that happened to the connection, with performance.now() when it did. */
export interface SocketEvent {
  at: number;
  what: 'end' | 'close' | 'error';
  detail?: string;
}

export class RespClient {
  /** Every value an INCR returned, in order: the writes the server acknowledged to this client. */
  readonly acknowledged: number[] = [];
  /** performance.now() when each acknowledged reply arrived (same order as acknowledged). */
  readonly acknowledgedAt: number[] = [];
  readonly events: SocketEvent[] = [];
  private buffer = Buffer.alloc(0);
  private readonly waiting: { resolve(reply: RespReply): void; reject(error: Error): void }[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      for (;;) {
        let parsed: ReturnType<typeof parseReply>;
        try {
          parsed = parseReply(this.buffer, 0);
        } catch (error) {
          // Not redis on the other end: fail this connection (its waiters reject), never the test process.
          socket.destroy(error as Error);
          return;
        }
        if (parsed === undefined) break;
        this.buffer = this.buffer.subarray(parsed.next);
        this.waiting.shift()?.resolve(parsed.reply);
      }
    });
    const fail = (what: SocketEvent['what'], detail?: string) => {
      this.events.push({ at: performance.now(), what, ...(detail === undefined ? {} : { detail }) });
      for (const waiter of this.waiting.splice(0))
        waiter.reject(new Error(`connection ${what}${detail ? `: ${detail}` : ''}`));
    };
    socket.on('end', () => fail('end'));
    socket.on('close', () => fail('close'));
    socket.on('error', (error: NodeJS.ErrnoException) => fail('error', error.code ?? error.message));
  }

  /** Connects once (no retry here: see connectRedis for waiting until a server is up). */
  static async connect(host: string, port: number, timeoutMs = 2000): Promise<RespClient> {
    const socket = createConnection({ host, port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => socket.destroy(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    return new RespClient(socket);
  }

  /** The connection's own address and port (the same ones after a failover means the same connection). */
  get local(): string {
    return `${this.socket.localAddress}:${this.socket.localPort}`;
  }

  /** Sends one command and waits for its reply (rejects on an error reply, a broken connection or the timeout). */
  async command(args: readonly string[], timeoutMs = 10_000): Promise<RespReply> {
    const reply = new Promise<RespReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${args[0]} in ${timeoutMs} ms`)), timeoutMs);
      this.waiting.push({
        resolve: (value) => {
          clearTimeout(timer);
          if (value instanceof RespError) reject(value);
          else resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    this.socket.write(`*${args.length}\r\n${args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`).join('')}`);
    return reply;
  }

  /** INCR key; the value is recorded as acknowledged once the reply arrived. */
  async incr(key: string, timeoutMs?: number): Promise<number> {
    const value = await this.command(['INCR', key], timeoutMs);
    if (typeof value !== 'number') throw new Error(`INCR ${key} returned ${JSON.stringify(value)}`);
    this.acknowledged.push(value);
    this.acknowledgedAt.push(performance.now());
    return value;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Connects to a redis that may still be starting: retries until it answers PING. */
export async function connectRedis(host: string, port: number, timeoutMs = 20_000): Promise<RespClient> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const client = await RespClient.connect(host, port);
      if ((await client.command(['PING'], 2000)) === 'PONG') return client;
      client.close();
    } catch (error) {
      if (performance.now() > deadline)
        throw new Error(`redis at ${host}:${port} did not answer in ${timeoutMs} ms: ${(error as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Connects to a redis behind an output gate: even the handshake's SYN-ACK waits for a checkpoint the backup
 * acknowledged (1-3 s here), and a connection still in redis's accept queue while CRIU dumps can be reset
 * (CRIU does not carry unaccepted connections). Retried until PING answers; from then on it is ONE connection.
 */
export async function connectThroughGate(host: string, port: number, timeoutMs = 120_000): Promise<RespClient> {
  return waitFor(
    'a connection to redis that answers PING',
    async () => {
      const candidate = await RespClient.connect(host, port, 15_000).catch(() => undefined);
      if (candidate === undefined) return undefined;
      if ((await candidate.command(['PING'], 30_000).catch(() => undefined)) === 'PONG') return candidate;
      candidate.close();
      return undefined;
    },
    timeoutMs,
    200,
  );
}

// One reply starting at offset, or undefined when the buffer does not hold all of it yet.
function parseReply(buffer: Buffer, offset: number): { reply: RespReply; next: number } | undefined {
  const end = buffer.indexOf('\r\n', offset);
  if (end < 0) return undefined;
  const line = buffer.toString('utf8', offset + 1, end);
  const next = end + 2;
  switch (String.fromCharCode(buffer[offset]!)) {
    case '+':
      return { reply: line, next };
    case '-':
      return { reply: new RespError(line), next };
    case ':':
      return { reply: Number(line), next };
    case '$': {
      const length = Number(line);
      if (length < 0) return { reply: null, next };
      if (buffer.length < next + length + 2) return undefined;
      return { reply: buffer.toString('utf8', next, next + length), next: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      const items: RespReply[] = [];
      let at = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, at);
        if (item === undefined) return undefined;
        items.push(item.reply);
        at = item.next;
      }
      return { reply: items, next: at };
    }
    default:
      throw new Error(
        `not a RESP reply at byte ${offset}: ${JSON.stringify(buffer.toString('utf8', offset, Math.min(end, offset + 40)))}`,
      );
  }
}
