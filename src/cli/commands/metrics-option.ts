import { formatEndpoint, isLoopback, parseEndpoint, type Endpoint } from '../../units/endpoint.js';
import { UserError } from '../errors.js';
import { EXIT } from '../exit-codes.js';

/** --metrics and --metrics-allow-remote of ship and backup (remusd run has metrics.listen in its config). */
export const metricsOptions = {
  metrics: {
    type: 'string',
    describe:
      'Serve Prometheus metrics at http://HOST:PORT/metrics (loopback only unless --metrics-allow-remote; port 0: any free port)',
  },
  'metrics-allow-remote': {
    type: 'boolean',
    default: false,
    describe: 'Let --metrics listen on an address other machines can reach',
  },
} as const;

/** Where --metrics listens, or undefined without it; a bad or remote address is a usage error. */
export function metricsEndpoint(text: string | undefined, allowRemote: boolean): Endpoint | undefined {
  if (text === undefined) {
    if (allowRemote)
      throw new UserError('--metrics-allow-remote applies to --metrics: give --metrics HOST:PORT too', EXIT.usage);
    return undefined;
  }
  const parsed = parseEndpoint(text, { allowAnyPort: true });
  if (!parsed.ok) throw new UserError(`--metrics ${JSON.stringify(text)} ${parsed.error}`, EXIT.usage);
  if (!allowRemote && !isLoopback(parsed.value.host)) {
    throw new UserError(
      `--metrics ${formatEndpoint(parsed.value)} can be reached from other machines: use 127.0.0.1 or [::1], or add --metrics-allow-remote`,
      EXIT.usage,
    );
  }
  return parsed.value;
}

/** Starts a metrics endpoint; an address that cannot be bound is a usage error before anything else starts. */
export async function startMetrics<T>(at: Endpoint, start: (host: string, port: number) => Promise<T>): Promise<T> {
  return start(at.host, at.port).catch((error: NodeJS.ErrnoException) => {
    throw new UserError(
      `--metrics ${formatEndpoint(at)}: cannot listen there (${error.code ?? error.message})`,
      EXIT.usage,
    );
  });
}
