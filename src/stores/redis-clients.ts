import { createHash } from 'node:crypto';

/**
 * The shape of an ioredis client (`new Redis()` or `new Cluster()`, ioredis 5 or 6) that the
 * store uses. Described here rather than imported from ioredis, so that a shop without ioredis
 * (on node-redis, or on `MemoryTokenStore`) needs none of its types to compile.
 */
export interface IoRedisClient {
  /** The connection's state; only ioredis clients have it. */
  readonly status: string;
  /** Whether it is a `Cluster`. */
  readonly isCluster: boolean;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'PX', milliseconds: number): Promise<unknown>;
  eval(script: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  evalsha(sha: string, numkeys: number, ...keysAndArgs: string[]): Promise<unknown>;
}

/**
 * The shape of a node-redis v5 client (`createClient()` / `createCluster()` from `redis`) that
 * the store uses; typed loosely on purpose, so that any of its generic variants fits.
 */
export interface NodeRedisClient {
  get(key: string): Promise<unknown>;
  set(
    key: string,
    value: string,
    options?: { expiration?: { type: 'EX' | 'PX'; value: number } },
  ): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  evalSha(sha: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** The clients `RedisTokenStore` accepts: ioredis (single node or Cluster) and node-redis v5. */
export type RedisClient = IoRedisClient | NodeRedisClient;

/** The few commands the store needs, the same for every client. */
export interface RedisCommands {
  /** GET: the value, or `null`. */
  get(key: string): Promise<string | null>;
  /** SET with a TTL; what it resolves to says nothing (a failure rejects). */
  set(key: string, value: string, ttl: { ms: number }): Promise<unknown>;
  /** EVAL (cached, see `evalCached`) of a script over `keys`. */
  eval(script: string, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /**
   * Whether the client is a Redis Cluster, which keeps keys on different nodes: a script may
   * then only touch one key (or keys of one hash slot).
   */
  readonly isCluster: boolean;
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
function evalCached(
  script: string,
  bySha: (sha: string) => Promise<unknown>,
  byBody: () => Promise<unknown>,
): Promise<unknown> {
  return bySha(shaOf(script)).catch((error: unknown) => {
    if (error instanceof Error && error.message.includes('NOSCRIPT')) return byBody();
    throw error;
  });
}

const isNodeRedis = (client: RedisClient): client is NodeRedisClient =>
  // ioredis clients expose `status`; node-redis clients do not.
  !('status' in client) && !('nodes' in client && typeof client.nodes === 'function');

function ioredisCommands(client: IoRedisClient): RedisCommands {
  return {
    get: (key) => client.get(key),
    // The client's own promise, with no async frame around it: a SET runs on every landing.
    set: (key, value, { ms }) => client.set(key, value, 'PX', ms),
    eval: (script, keys, args) =>
      evalCached(
        script,
        (sha) => client.evalsha(sha, keys.length, ...keys, ...args),
        () => client.eval(script, keys.length, ...keys, ...args),
      ),
    isCluster: client.isCluster,
  };
}

function nodeRedisCommands(client: NodeRedisClient): RedisCommands {
  return {
    async get(key) {
      const reply = await client.get(key);
      return typeof reply === 'string' ? reply : null;
    },
    set: (key, value, { ms }) => client.set(key, value, { expiration: { type: 'PX', value: ms } }),
    eval(script, keys, args) {
      const options = { keys: [...keys], arguments: [...args] };
      return evalCached(
        script,
        (sha) => client.evalSha(sha, options),
        () => client.eval(script, options),
      );
    },
    // node-redis' cluster (`createCluster()`) routes by slot; its single-node client cannot.
    isCluster: typeof (client as { getSlotMaster?: unknown }).getSlotMaster === 'function',
  };
}

/** The commands of whichever client the shop gave, the same for each. */
export function redisCommands(client: RedisClient): RedisCommands {
  return isNodeRedis(client) ? nodeRedisCommands(client) : ioredisCommands(client);
}
