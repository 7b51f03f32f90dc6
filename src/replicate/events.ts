/** Where the replication code reports what it did; the CLI adapts its logger, tests collect lines. */
export interface ReplicationLog {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** A log that drops everything. */
export const silentLog: ReplicationLog = { info: () => undefined, warn: () => undefined };
