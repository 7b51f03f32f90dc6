import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { at } from '../at.js';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';
import type { EpochClosed, EpochReleased } from './gate.js';
import { parseHistogram } from './histogram.js';
import { LineReplies } from './line-replies.js';

/** The answer lines are short except a release's histogram (≤ 544 buckets): anything longer is garbage. */
const MAX_LINE = 64 << 10;

/** The helper's C sources: the control protocol, the held-packet store, batched TUN I/O, its devices, its command line. */
const GATE_SOURCES = [
  'tun-gate.c',
  'tun-store.c',
  'tun-store.h',
  'tun-batch.c',
  'tun-batch.h',
  'tun-devices.c',
  'tun-devices.h',
  'tun-options.c',
  'tun-options.h',
];

/** Compiles src/gate/tun-gate.c and its parts once per source version. */
export async function ensureGateBinary(): Promise<string> {
  return ensureBundledBinary(
    GATE_SOURCES.map((file) => join(packageRoot(), 'src', 'gate', file)),
    'remusd-gate',
  );
}

/**
 * The remusd-gate helper process (src/gate/tun-gate.c): one command line out, one answer line back, in
 * order. It holds packets in its own memory and dies with us (PR_SET_PDEATHSIG, EOF on its stdin).
 */
export class GateHelper {
  private readonly replies = new LineReplies(MAX_LINE);
  private stderr = '';
  private queue: Promise<unknown> = Promise.resolve();

  /** The offloads the kernel took for the TUN ("csum,tso4,tso6,…"; "none"; "off" when not asked for). */
  offload = 'none';

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      if (this.replies.push(chunk)) return;
      this.replies.fail(new Error('remusd-gate: answer line too long'));
      this.kill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (this.stderr = (this.stderr + chunk).slice(-2000)));
    child.on('close', (code, signal) =>
      this.replies.fail(
        new Error(`remusd-gate exited (${signal ?? `code ${code}`})${this.stderr ? `: ${this.stderr.trim()}` : ''}`),
      ),
    );
    child.on('error', (error) => this.replies.fail(error));
    child.stdin.on('error', () => undefined); // a dead helper is reported by 'exit'
  }

  /**
   * Starts the helper with its TUN device `tun` (and the inbound TAP `inbound.tap`, sending on to `inbound.to`);
   * resolves once the devices exist. `offload: false` leaves GSO off (the kernel segments before the TUN).
   */
  static async start(
    tun: string,
    maxBytes: number,
    { inbound, offload = true }: { inbound?: { tap: string; to: string } | undefined; offload?: boolean } = {},
  ): Promise<GateHelper> {
    const binary = await ensureGateBinary();
    const args = ['--tun', tun, '--parent', String(process.pid), '--max-bytes', String(maxBytes)];
    if (!offload) args.push('--no-offload');
    if (inbound !== undefined) args.push('--inbound-tap', inbound.tap, '--inbound-to', inbound.to);
    const child = spawn(binary, args, { stdio: 'pipe' });
    const helper = new GateHelper(child);
    const ready = await helper.replies.next();
    const prefix = `ready ${tun} offload `;
    const offloads = ready.slice(prefix.length);
    if (!ready.startsWith(prefix) || !/^[\w,]+$/.test(offloads)) {
      helper.kill();
      throw new Error(`remusd-gate did not start: ${ready}`);
    }
    helper.offload = offloads;
    return helper;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  async barrier(epoch: number): Promise<EpochClosed> {
    const fields = await this.ask(`barrier ${epoch}`, 'barrier', 3);
    return { epoch, packets: at(fields, 1), bytes: at(fields, 2) };
  }

  async release(epoch: number): Promise<EpochReleased> {
    const line = await this.request(`release ${epoch}`);
    const match = /^ok release (\d+) (\d+) (\d+) (\d+) (\S+)$/.exec(line);
    if (match === null || Number(match[1]) !== epoch) throw new Error(`remusd-gate: release ${epoch}: ${line}`);
    return {
      epoch,
      packets: Number(match[2]),
      bytes: Number(match[3]),
      dropped: Number(match[4]),
      holds: parseHistogram(at(match, 5)),
    };
  }

  /** Holds every inbound packet from now on (the TAP queues them) until unhold(). */
  async hold(): Promise<void> {
    await this.ask('hold', 'hold', 0);
  }

  /** Sends the inbound packets held since hold(), in order; later ones pass straight through again. */
  async unhold(): Promise<{ packets: number; bytes: number }> {
    const fields = await this.ask('unhold', 'unhold', 2);
    return { packets: at(fields, 0), bytes: at(fields, 1) };
  }

  async stats(): Promise<{ heldPackets: number; heldBytes: number; dropped: number; pendingBarriers: number }> {
    const fields = await this.ask('stats', 'stats', 4);
    return {
      heldPackets: at(fields, 0),
      heldBytes: at(fields, 1),
      dropped: at(fields, 2),
      pendingBarriers: at(fields, 3),
    };
  }

  /** Ends the helper by closing its stdin (held packets die with it); resolves when it has exited. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    const timer = setTimeout(() => this.kill(), 2_000);
    await exited;
    clearTimeout(timer);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private async ask(command: string, word: string, count: number): Promise<number[]> {
    const line = await this.request(command);
    const parts = line.split(' ');
    if (
      parts[0] !== 'ok' ||
      parts[1] !== word ||
      parts.length !== count + 2 ||
      !parts.slice(2).every((p) => /^\d+$/.test(p))
    ) {
      throw new Error(`remusd-gate: ${command}: ${line}`);
    }
    return parts.slice(2).map(Number);
  }

  // Commands are serialized: the helper answers in order, one line each.
  private request(command: string): Promise<string> {
    const answer = this.queue.then(() => {
      if (this.replies.failed !== undefined) throw this.replies.failed;
      const reply = this.replies.next();
      this.child.stdin.write(`${command}\n`);
      return reply;
    });
    this.queue = answer.catch(() => undefined);
    return answer;
  }
}
