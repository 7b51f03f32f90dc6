import { pino, type Logger } from 'pino';

/**
 * The log (stderr). On a terminal, readable lines; elsewhere JSON lines an operator's log pipeline can
 * parse. Synchronous in both cases so that nothing logged just before an exit is lost.
 */
export async function createLogger(level = process.env.REMUSD_LOG_LEVEL ?? 'info'): Promise<Logger> {
  if (process.stderr.isTTY) {
    // Loaded only for a terminal: a supervisor running for months under a service manager never needs it.
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  return pino({ level, base: { name: 'remusd' } }, pino.destination({ dest: 2, sync: true }));
}
