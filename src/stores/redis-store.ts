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

// Compare-and-delete in one step, so a newer token saved during a send is never deleted.
const DELETE_IF_TOKEN = `
local value = redis.call('GET', KEYS[1])
if not value then return 0 end
local ok, entry = pcall(cjson.decode, value)
if ok and type(entry) == 'table' and entry.token == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

// Only the claim's owner may give it up: after a lease expired, another sender may own it.
const DELETE_IF_OWNER = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

const COMPLETED = 'sent';

// Take the claim, or say in the same step whether it is held or completed.
const ACQUIRE = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 'acquired' end
if redis.call('GET', KEYS[1]) == '${COMPLETED}' then return 'completed' end
return 'held'`;

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
    await this.#redis.evalOne(DELETE_IF_TOKEN, this.#tokenKey(sessionKey), token);
  }

  async acquireClaim(key: string, owner: string, leaseMs: number): Promise<ClaimOutcome> {
    const outcome = await this.#redis.evalOne(ACQUIRE, this.#claimKey(key), owner, String(leaseMs));
    return outcome === 'acquired' || outcome === 'completed' ? outcome : 'held';
  }

  async completeClaim(key: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.#claimKey(key), COMPLETED, { ms: ttlSeconds * 1000 });
  }

  async releaseClaim(key: string, owner: string): Promise<void> {
    await this.#redis.evalOne(DELETE_IF_OWNER, this.#claimKey(key), owner);
  }
}
