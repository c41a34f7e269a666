import { createHash } from 'node:crypto';
import type { Cluster, Redis } from 'ioredis';

/**
 * The shape of a node-redis v5 client (`createClient()` / `createCluster()` from `redis`) that
 * the store uses; typed loosely on purpose, so that any of its generic variants fits.
 */
export interface NodeRedisClient {
  get(key: string): Promise<unknown>;
  set(
    key: string,
    value: string,
    options?: { expiration?: { type: 'EX' | 'PX'; value: number }; condition?: 'NX' },
  ): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** The clients `RedisTokenStore` accepts: ioredis (single node or Cluster) and node-redis v5. */
export type RedisClient = Redis | Cluster | NodeRedisClient;

/** The few commands the store needs, the same for every client. */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  /** SET with a TTL; with `onlyIfAbsent`, NX. Resolves to whether the value was written. */
  set(key: string, value: string, ttl: { ms: number }, onlyIfAbsent?: boolean): Promise<boolean>;
  /** EVAL of a script over one key. */
  evalOne(script: string, key: string, ...args: string[]): Promise<unknown>;
}

const shas = new Map<string, string>();
const shaOf = (script: string): string => {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  return sha;
};

/**
 * EVALSHA first: the script is sent (and compiled) once per server, not on every call; after a
 * restart or a failover Redis answers NOSCRIPT, and we fall back to EVAL, which caches it again.
 */
async function evalCached(
  script: string,
  bySha: (sha: string) => Promise<unknown>,
  byBody: () => Promise<unknown>,
): Promise<unknown> {
  try {
    return await bySha(shaOf(script));
  } catch (error) {
    if (error instanceof Error && error.message.includes('NOSCRIPT')) return byBody();
    throw error;
  }
}

const isNodeRedis = (client: RedisClient): client is NodeRedisClient =>
  // ioredis clients expose `status`; node-redis clients do not.
  !('status' in client) && !('nodes' in client && typeof client.nodes === 'function');

function ioredisCommands(client: Redis | Cluster): RedisCommands {
  return {
    get: (key) => client.get(key),
    async set(key, value, { ms }, onlyIfAbsent = false) {
      const reply = onlyIfAbsent
        ? await client.set(key, value, 'PX', ms, 'NX')
        : await client.set(key, value, 'PX', ms);
      return reply === 'OK';
    },
    evalOne: (script, key, ...args) =>
      evalCached(
        script,
        (sha) => client.evalsha(sha, 1, key, ...args),
        () => client.eval(script, 1, key, ...args),
      ),
  };
}

function nodeRedisCommands(client: NodeRedisClient): RedisCommands {
  return {
    async get(key) {
      const reply = await client.get(key);
      return typeof reply === 'string' ? reply : null;
    },
    async set(key, value, { ms }, onlyIfAbsent = false) {
      const reply = await client.set(key, value, {
        expiration: { type: 'PX', value: ms },
        ...(onlyIfAbsent ? { condition: 'NX' as const } : {}),
      });
      return reply === 'OK';
    },
    evalOne: (script, key, ...args) =>
      evalCached(
        script,
        (sha) => client.evalSha(sha, { keys: [key], arguments: args }),
        () => client.eval(script, { keys: [key], arguments: args }),
      ),
  };
}

export function redisCommands(client: RedisClient): RedisCommands {
  return isNodeRedis(client) ? nodeRedisCommands(client) : ioredisCommands(client);
}
