import { execa } from 'execa';

/** An `ip` (iproute2) command that failed: the command line and what ip said. */
export class NetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NetError';
  }
}

/** Runs `ip ARGS…` and returns its stdout; a failure throws NetError naming the command and ip's own words. */
export async function ip(args: readonly string[]): Promise<string> {
  const result = await execa('ip', args, { reject: false, stdin: 'ignore', timeout: 10_000 });
  if (result.failed) {
    const said = (result.stderr || result.stdout || result.shortMessage || '').trim().split('\n')[0] ?? '';
    throw new NetError(`\`ip ${args.join(' ')}\` failed: ${said}`);
  }
  return result.stdout;
}

/** Runs `ip ARGS…` inside the named network namespace (ip -n NAME: only the network namespace is entered). */
export async function ipIn(namespace: string, args: readonly string[]): Promise<string> {
  return ip(['-n', namespace, ...args]);
}
