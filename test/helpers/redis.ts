// redis-server for the network-service tests: Debian 12's 7.0, unpacked by scripts/install-redis.sh
// (part of scripts/setup.sh). No skip: a missing server fails with the fix.

import { access, constants } from 'node:fs/promises';

export const REDIS_SERVER = '/opt/remusd/redis/bin/redis-server';

/** The redis-server binary; throws with the fix when setup has not installed it. */
export async function redisServer(): Promise<string> {
  await access(REDIS_SERVER, constants.X_OK).catch(() => {
    throw new Error(`${REDIS_SERVER} is missing: run scripts/setup.sh (it runs scripts/install-redis.sh)`);
  });
  return REDIS_SERVER;
}

/**
 * Arguments for a throwaway redis on address:port that keeps everything in memory: no RDB/AOF files (the
 * checkpoint is the persistence), not daemonized (remusd supervises it), protected mode off (clients come
 * from the host side of a veth, not loopback).
 */
export function redisArgs(address: string, port: number, dir: string): string[] {
  return [
    '--bind',
    address,
    '--port',
    String(port),
    '--protected-mode',
    'no',
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--dir',
    dir,
    '--logfile',
    '',
  ];
}
