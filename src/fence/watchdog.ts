// The fence that survives remusd (src/fence/watchdog.c): while a guard protects a workload, a small helper in
// its own session holds the other end of a pipe from remusd. remusd tells it, after each renewal, how long the
// lease is still good for; if remusd dies (the pipe reaches EOF) or falls silent past that, the helper freezes
// or kills the workload itself, before the lease can run out and another host take over.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Socket } from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { FenceAction } from '../config/fencing.js';
import { packageRoot } from '../paths.js';
import { ensureBundledBinary } from '../process/compile.js';

/** Compiles src/fence/watchdog.c once per source version. */
export function ensureWatchdogBinary(): Promise<string> {
  return ensureBundledBinary(join(packageRoot(), 'src', 'fence', 'watchdog.c'), 'remusd-watchdog');
}

export interface WatchdogOptions {
  pid: number;
  action: FenceAction;
  /** fenced.json's path. */
  report: string;
  /** The fixed members of its report (key, holder, lease, action, pid). */
  fields: Record<string, unknown>;
  /** Called if the helper exits while still armed (it was killed): the workload is then unguarded against our death. */
  lost(why: string): void;
}

/** A running remusd-watchdog for one workload. */
export class Watchdog {
  private ended = false;

  private constructor(private readonly child: ChildProcessByStdio<Writable, Readable, null>) {}

  /** Starts the helper; resolves once it holds the workload's pidfd. */
  static async start(options: WatchdogOptions): Promise<Watchdog> {
    const binary = await ensureWatchdogBinary();
    const fields = JSON.stringify(options.fields).replace(/}$/, '');
    const args = [
      '--pid',
      String(options.pid),
      '--action',
      options.action,
      '--parent',
      String(process.pid),
      '--report',
      options.report,
      '--fields',
      fields,
    ];
    // detached: its own session, so a signal to remusd's process group leaves it watching. stderr is ours: its
    // fence message lands in remusd's log.
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
    child.stdin.on('error', () => undefined); // a dead helper is reported through 'exit'
    const watchdog = new Watchdog(child);
    const ready = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code, signal) => resolve(`exited (${signal ?? `code ${code}`})`));
      child.once('error', (error) => resolve(error.message));
    });
    if (ready !== `ready ${options.pid}`) {
      child.kill('SIGKILL');
      throw new Error(`remusd-watchdog did not start: ${ready}`);
    }
    child.once('exit', (code, signal) => {
      if (!watchdog.ended) options.lost(`remusd-watchdog exited (${signal ?? `code ${code}`})`);
    });
    child.stdout.resume();
    child.unref();
    // A pipe to a child is a net.Socket: unref'd, it does not keep remusd's event loop alive either.
    if (child.stdout instanceof Socket) child.stdout.unref();
    return watchdog;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** The lease is good for ms more: the helper fences if it hears nothing newer by then. */
  arm(ms: number): void {
    if (!this.ended) this.child.stdin.write(`arm ${Math.max(0, Math.floor(ms))}\n`);
  }

  /** The guard ended on purpose: the helper exits without touching the workload. */
  disarm(): void {
    this.end('disarm');
  }

  /** remusd fenced the workload itself: the helper makes sure a CRIU dump that ends afterwards leaves it stopped. */
  fenced(): void {
    this.end('fenced');
  }

  private end(command: 'disarm' | 'fenced'): void {
    if (this.ended) return;
    this.ended = true;
    this.child.stdin.end(`${command}\n`);
  }
}
