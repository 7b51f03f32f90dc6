import { connect, type Socket } from 'node:net';
import { errorText } from '../fs/error-code.js';
import { at } from '../at.js';

/** How a counter service is asked to count, and how its reply line reads. */
export interface CounterProtocol {
  request: string;
  /** The value in one reply line (without its \n); NaN when it is not a count. */
  parse(line: string): number;
}

/** src/workload/counter-server.c: "INCR\n" → "N\n". */
export const COUNTER_SERVER: CounterProtocol = { request: 'INCR\n', parse: Number };
/** redis (RESP): the inline command "INCR counter" → an integer reply ":N\r\n". */
export const REDIS_INCR: CounterProtocol = {
  request: 'INCR counter\r\n',
  parse: (line) => (line.startsWith(':') ? Number(line.slice(1).trimEnd()) : Number.NaN),
};

/** A client of a counter service (counter-server.c, or redis) keeping ONE TCP connection, recording every acknowledged value. */
export class CounterClient {
  readonly values: number[] = [];
  readonly rttMs: number[] = [];
  readonly events: string[] = [];
  private buffer = '';
  private pending: ((value: number) => void) | undefined;
  private running = false;
  private loop: Promise<void> | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly protocol: CounterProtocol,
  ) {
    socket.setNoDelay(true);
    socket.on('data', (data) => {
      this.buffer += data.toString();
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const value = this.protocol.parse(this.buffer.slice(0, newline));
        this.buffer = this.buffer.slice(newline + 1);
        this.pending?.(value);
      }
    });
    socket.on('error', (error) => this.events.push(`error ${errorText(error)}`));
    socket.on('close', () => this.events.push('close'));
  }

  static connect(host: string, port: number, timeoutMs = 10_000, protocol = COUNTER_SERVER): Promise<CounterClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(
        () => (socket.destroy(), reject(new Error(`no connection to ${host}:${port} in ${timeoutMs} ms`))),
        timeoutMs,
      );
      socket.once('connect', () => (clearTimeout(timer), resolve(new CounterClient(socket, protocol))));
      socket.once('error', (error) => (clearTimeout(timer), reject(error)));
    });
  }

  /** One request: resolves with the acknowledged value. */
  increment(): Promise<number> {
    return new Promise((resolve) => {
      const sent = performance.now();
      this.pending = (value) => {
        this.pending = undefined;
        this.values.push(value);
        this.rttMs.push(performance.now() - sent);
        resolve(value);
      };
      this.socket.write(this.protocol.request);
    });
  }

  /** Sends requests back to back until stop(). */
  start(): void {
    this.running = true;
    this.loop = (async () => {
      while (this.running && !this.socket.destroyed) await this.increment();
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The q-quantile of a list of numbers. */
export function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return at(sorted, Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1)));
}
