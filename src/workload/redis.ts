// The redis-server the network-service tests and the redis latency bench run: Debian 12's 7.0, unpacked by
// scripts/install-redis.sh (part of scripts/setup.sh), and the arguments that make it a throwaway server.

export const REDIS_SERVER = '/opt/remusd/redis/bin/redis-server';

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
