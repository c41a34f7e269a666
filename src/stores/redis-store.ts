import type { ClaimOutcome, StoredToken, TokenStore } from '../types.js';
import { redisCommands, type RedisClient, type RedisCommands } from './redis-clients.js';

export interface RedisTokenStoreOptions {
  /**
   * An ioredis client or Cluster, or a connected node-redis v5 client or cluster. The shop owns
   * it: the store never connects or quits it. Every command touches one key, so Redis Cluster
   * needs no hash tags.
   */
  client: RedisClient;
  /** Prepended to every key. Default `sovendus:`. Give each app its own when they share a Redis. */
  prefix?: string;
}

// Compare-and-delete in one step, so a newer token saved during a send is never deleted. The
// value is our own JSON, which starts with the token (see saveToken): a prefix test is enough,
// and cheaper for Redis than decoding it.
const DELETE_IF_TOKEN = `
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, 1, #ARGV[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const tokenPrefix = (token: string) => `{"token":${JSON.stringify(token)},`;

// Only the claim's owner may give it up: after a lease expired, another sender may own it.
const DELETE_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const COMPLETED = 'sent';

function parseStoredToken(raw: string | null): StoredToken | undefined {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<StoredToken>;
    if (
      typeof value.token === 'string' &&
      typeof value.productId === 'string' &&
      typeof value.capturedAt === 'number'
    ) {
      return { token: value.token, productId: value.productId, capturedAt: value.capturedAt };
    }
  } catch {
    // Not ours, or written by an incompatible version: treat as absent rather than crash.
  }
  return undefined;
}

/**
 * Keeps tokens in Redis, shared by every instance of the shop. Keys:
 * `{prefix}token:{sessionKey}` (JSON, with the token's TTL) and `{prefix}claim:{id}` (the
 * send claims that make each conversion go out once).
 */
export class RedisTokenStore implements TokenStore {
  readonly #redis: RedisCommands;
  readonly #prefix: string;

  constructor(options: RedisTokenStoreOptions) {
    const client = (options as Partial<RedisTokenStoreOptions> | undefined)?.client;
    if (typeof client?.set !== 'function' || typeof client.eval !== 'function') {
      throw new TypeError('RedisTokenStore: `client` must be an ioredis or node-redis client');
    }
    this.#redis = redisCommands(client);
    this.#prefix = options.prefix ?? 'sovendus:';
  }

  #tokenKey(sessionKey: string): string {
    return `${this.#prefix}token:${sessionKey}`;
  }

  #claimKey(key: string): string {
    return `${this.#prefix}claim:${key}`;
  }

  async saveToken(sessionKey: string, entry: StoredToken, ttlSeconds: number): Promise<void> {
    // Key order matters: deleteToken recognises an entry by its start (tokenPrefix).
    const { token, productId, capturedAt } = entry;
    await this.#redis.set(
      this.#tokenKey(sessionKey),
      JSON.stringify({ token, productId, capturedAt }),
      {
        ms: ttlSeconds * 1000,
      },
    );
  }

  async getToken(sessionKey: string): Promise<StoredToken | undefined> {
    return parseStoredToken(await this.#redis.get(this.#tokenKey(sessionKey)));
  }

  async deleteToken(sessionKey: string, token: string): Promise<void> {
    await this.#redis.evalOne(DELETE_IF_TOKEN, this.#tokenKey(sessionKey), tokenPrefix(token));
  }

  async acquireClaim(key: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    // SET NX is atomic; only when it loses (rare) does a second read say why. If the holder let
    // go in between, "held" is the safe answer: a request calls it a duplicate, a queue retries.
    const claimKey = this.#claimKey(key);
    if (await this.#redis.set(claimKey, owner, { ms: leaseMs }, true)) return 'acquired';
    return (await this.#redis.get(claimKey)) === COMPLETED ? 'completed' : 'held';
  }

  async completeClaim(key: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.#claimKey(key), COMPLETED, { ms: ttlSeconds * 1000 });
  }

  async releaseClaim(key: string, owner: string): Promise<void> {
    await this.#redis.evalOne(DELETE_IF_OWNER, this.#claimKey(key), owner);
  }
}
