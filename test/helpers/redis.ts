// redis-server for the network-service tests: Debian 12's 7.0, unpacked by scripts/install-redis.sh
// (part of scripts/setup.sh). No skip: a missing server fails with the fix.

import { access, constants } from 'node:fs/promises';

import { REDIS_SERVER } from '../../src/workload/redis.js';

export { REDIS_SERVER, redisArgs } from '../../src/workload/redis.js';

/** The redis-server binary; throws with the fix when setup has not installed it. */
export async function redisServer(): Promise<string> {
  await access(REDIS_SERVER, constants.X_OK).catch(() => {
    throw new Error(`${REDIS_SERVER} is missing: run scripts/setup.sh (it runs scripts/install-redis.sh)`);
  });
  return REDIS_SERVER;
}
