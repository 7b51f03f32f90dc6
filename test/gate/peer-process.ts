import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { packageRoot } from '../../src/paths.js';

/** A long-lived process answering one line per command line (peer.mjs in a namespace, gate-owner.mjs). */
export class LineProcess {
  private lines: string[] = [];
  private waiters: ((line: string) => void)[] = [];

  constructor(readonly child: ResultPromise) {
    const rl = createInterface({ input: child.stdout! });
    rl.on('line', (line) => {
      const waiter = this.waiters.shift();
      if (waiter) waiter(line);
      else this.lines.push(line);
    });
  }

  next(timeoutMs = 20_000): Promise<string> {
    const line = this.lines.shift();
    if (line !== undefined) return Promise.resolve(line);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push((l) => (clearTimeout(timer), resolve(l)));
    });
  }

  async ask(command: string): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    return this.next();
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/** Starts test/gate/peer.mjs inside a namespace. */
export function startPeer(namespace: string): LineProcess {
  const child = execa(
    'nsenter',
    [`--net=/run/netns/${namespace}`, process.execPath, join(packageRoot(), 'test', 'gate', 'peer.mjs')],
    {
      reject: false,
      stdin: 'pipe',
      stderr: 'inherit',
    },
  );
  return new LineProcess(child);
}
