import { fstatSync, writeSync } from 'node:fs';
import { pino, type DestinationStream, type Logger } from 'pino';

/** --log-level values (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** --log-format values: auto is pretty on a terminal, journal under systemd, json elsewhere. */
export const LOG_FORMATS = ['auto', 'json', 'pretty', 'journal'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

// pino level → syslog priority, as the journal reads a `<N>` prefix on each line of a service's stderr.
const SYSLOG_PRIORITY: Record<number, number> = { 10: 7, 20: 7, 30: 6, 40: 4, 50: 3, 60: 2 };

/**
 * True when stderr is the journal's stream: systemd sets JOURNAL_STREAM to the device and inode of the
 * stream it connected (and a child that inherits the variable but not the stream must not prefix).
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const [dev, ino] = (env.JOURNAL_STREAM ?? '').split(':');
  if (dev === undefined || ino === undefined || ino === '') return false;
  try {
    const stats = fstatSync(2, { bigint: true });
    return String(stats.dev) === dev && String(stats.ino) === ino;
  } catch {
    return false;
  }
}

/** JSON lines, each behind its syslog priority (`<4>{"level":40,…}`): `journalctl -p warning` then finds warnings. */
export function journalStream(write: (line: string) => void = (line) => void writeSync(2, line)): DestinationStream {
  return {
    write(line: string) {
      const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? 30);
      write(`<${SYSLOG_PRIORITY[level] ?? 6}>${line}`);
    },
  };
}

/**
 * The log (stderr). On a terminal, readable lines; under systemd, JSON lines with journal priorities;
 * elsewhere JSON lines an operator's log pipeline can parse. Synchronous in every case so that nothing
 * logged just before an exit is lost. Level and format come from --log-level and --log-format (main.ts
 * puts them in REMUSD_LOG_LEVEL and REMUSD_LOG_FORMAT).
 */
export async function createLogger(
  level = process.env.REMUSD_LOG_LEVEL ?? 'info',
  format: LogFormat = LOG_FORMATS.find((f) => f === process.env.REMUSD_LOG_FORMAT) ?? 'auto',
): Promise<Logger> {
  const chosen = format !== 'auto' ? format : process.stderr.isTTY ? 'pretty' : stderrIsJournal() ? 'journal' : 'json';
  if (chosen === 'pretty') {
    // Loaded only for a terminal: a supervisor running for months under a service manager never needs it.
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ destination: 2, sync: true, ignore: 'pid,hostname', translateTime: 'HH:MM:ss.l' }));
  }
  if (chosen === 'journal') return pino({ level, base: { name: 'remusd' } }, journalStream());
  return pino({ level, base: { name: 'remusd' } }, pino.destination({ dest: 2, sync: true }));
}
