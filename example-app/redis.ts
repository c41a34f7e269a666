import { Redis, type RedisOptions } from 'ioredis';

/*
 * Redis clients for the example shop, with the settings a shop should use when Redis can go
 * away. ioredis' defaults wait for Redis instead of failing: a command waits while 20
 * reconnect attempts fail, and with its back-off that held each page about 40 seconds
 * before a 500.
 */

/**
 * For the token store (see docs/hardening.md, "ioredis settings for the token store"): fail
 * after one failed reconnect attempt, and no `commandTimeout`: the package bounds its own
 * waits, and a command ioredis gives up on may still run in Redis.
 */
export const TOKEN_STORE_REDIS: RedisOptions = { maxRetriesPerRequest: 1 };

/**
 * For connect-redis, which waits for Redis without a bound: every request with a session
 * waits with it. Fail fast instead, and let the page say so:
 * - `maxRetriesPerRequest: 1`: a command fails once one reconnect attempt did (default 20);
 * - `connectTimeout: 2_000`: a host that drops packets fails an attempt in 2 s (default 10 s);
 * - `commandTimeout: 2_000`: a Redis that takes commands and never answers them fails them
 *   after 2 s (default: never).
 */
export const SESSION_STORE_REDIS: RedisOptions = {
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  commandTimeout: 2_000,
};

/**
 * A client that says in one line when Redis goes away and when it is back. Without an error
 * listener, ioredis prints a stack ("[ioredis] Unhandled error event") for every attempt.
 */
export function connectRedis(url: string, role: string, options: RedisOptions): Redis {
  const client = new Redis(url, options);
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) console.error(`  ✗ ${role} cannot reach Redis (${error.message})`);
    down = true;
  });
  client.on('ready', () => {
    if (down) console.log(`  ✓ ${role} reaches Redis again`);
    down = false;
  });
  return client;
}
