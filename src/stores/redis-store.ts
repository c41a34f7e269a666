import type {
  ClaimOutcome,
  ConsumedToken,
  SessionClaims,
  StoredToken,
  TokenStore,
} from '../types.js';
import { readThenClaim } from './session-claims.js';
import { redisCommands, type RedisClient, type RedisCommands } from './redis-clients.js';

export interface RedisTokenStoreOptions {
  /**
   * An ioredis client or Cluster, or a connected node-redis v5 client or cluster. The shop owns
   * it: the store never connects or quits it. On a Redis Cluster every command touches one key,
   * so it needs no hash tags.
   */
  client: RedisClient;
  /** Prepended to every key. Default `sovendus:`. Give each app its own when they share a Redis. */
  prefix?: string;
}

// The claim scripts take every claim of a delivery (and, on completion, its session token) in
// one round trip. On a cluster, where the keys live on different nodes, the store runs them
// once per key instead.
const COMPLETED = 'sent';

// All or none: `completed` wins over `held`, because it is final. A claim its owner already
// holds counts as free: a client re-sends a script whose answer a dropped connection lost.
// A Lua function over a list of claim keys, ARGV[1] the owner and ARGV[2] the lease; 0, 1, 2
// index CLAIM_OUTCOMES.
const ACQUIRE = `
local function acquire(claims)
  local held = 0
  for _, key in ipairs(claims) do
    local value = redis.call('GET', key)
    if value == '${COMPLETED}' then return 2 end
    if value and value ~= ARGV[1] then held = 1 end
  end
  if held == 1 then return 1 end
  for _, key in ipairs(claims) do redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
  return 0
end`;

const ACQUIRE_CLAIMS = `${ACQUIRE}
return acquire(KEYS)`;

// KEYS: the session's token key, then the other claims; ARGV[3]: this store's claim prefix.
// The token's own claim is named from the stored entry, as tokenClaimKey does, so it is not in
// KEYS: a single Redis allows that, a cluster does not (there the store reads, then claims).
const ACQUIRE_SESSION_CLAIMS = `${ACQUIRE}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ok, entry = pcall(cjson.decode, raw)
if not ok or type(entry) ~= 'table' or type(entry.token) ~= 'string'
  or type(entry.productId) ~= 'string' or type(entry.capturedAt) ~= 'number' then
  return { raw, -1 }
end
local claims = { ARGV[3] .. 'conversion:' .. entry.productId .. ':' .. entry.token }
for i = 2, #KEYS do claims[#claims + 1] = KEYS[i] end
return { raw, acquire(claims) }`;

const CLAIM_OUTCOMES: readonly ClaimOutcome[] = ['acquired', 'held', 'completed'];

// KEYS: the claims, then the session's token key when ARGV[2] (the token's stored prefix) is
// given. The token is deleted only while it is still the one sent, so a newer click survives;
// the value is our own JSON, which starts with the token (see saveToken), so a prefix test is
// enough, and cheaper for Redis than decoding it.
const COMPLETE_CLAIMS = `
local claims = #KEYS
if ARGV[2] then
  claims = claims - 1
  local value = redis.call('GET', KEYS[#KEYS])
  if value and string.sub(value, 1, #ARGV[2]) == ARGV[2] then redis.call('DEL', KEYS[#KEYS]) end
end
for i = 1, claims do redis.call('SET', KEYS[i], '${COMPLETED}', 'PX', ARGV[1]) end
return 0`;

const tokenPrefix = (token: string) => `{"token":${JSON.stringify(token)},`;

// Only a claim's owner may give it up: after a lease expired, another sender may own it.
const RELEASE_CLAIMS = `
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then redis.call('DEL', key) end
end
return 0`;

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
 * send claims that make each conversion and redemption go out once).
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
    // Key order matters: completeClaims recognises the entry by its start (tokenPrefix).
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

  async acquireClaims(
    keys: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<ClaimOutcome> {
    const claimKeys = keys.map((key) => this.#claimKey(key));
    const args = [owner, String(leaseMs)];
    if (!this.#redis.isCluster) return this.#acquire(claimKeys, args);
    // Each key on its own, then what was taken is given back if any was not free: the same
    // outcome, except that a competitor may briefly see a claim that is about to be released.
    const outcomes = await Promise.allSettled(claimKeys.map((key) => this.#acquire([key], args)));
    const taken = claimKeys.filter((_, index) => {
      const outcome = outcomes[index];
      return outcome?.status === 'fulfilled' && outcome.value === 'acquired';
    });
    if (taken.length === claimKeys.length) return 'acquired';
    await this.#release(taken, owner).catch(() => undefined); // else the leases expire
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    const completed = outcomes.some(
      (outcome) => outcome.status === 'fulfilled' && outcome.value === 'completed',
    );
    return completed ? 'completed' : 'held';
  }

  async acquireSessionClaims(
    sessionKey: string,
    keys: readonly string[],
    owner: string,
    leaseMs: number,
  ): Promise<SessionClaims | undefined> {
    if (this.#redis.isCluster) return readThenClaim(this, sessionKey, keys, owner, leaseMs);
    const reply = await this.#redis.eval(
      ACQUIRE_SESSION_CLAIMS,
      [this.#tokenKey(sessionKey), ...keys.map((key) => this.#claimKey(key))],
      [owner, String(leaseMs), this.#claimKey('')],
    );
    if (!Array.isArray(reply)) return undefined;
    const [raw, outcome] = reply as [string, number];
    // An entry the script could not read claimed nothing, and reads as no token here too.
    const entry = parseStoredToken(raw);
    return entry && { entry, claim: this.#claimOutcome(outcome) };
  }

  async completeClaims(
    keys: readonly string[],
    ttlSeconds: number,
    consumed?: ConsumedToken,
  ): Promise<void> {
    const ttl = String(ttlSeconds * 1000);
    const claimKeys = keys.map((key) => this.#claimKey(key));
    const token = consumed && {
      key: this.#tokenKey(consumed.sessionKey),
      args: [ttl, tokenPrefix(consumed.token)],
    };
    if (!this.#redis.isCluster) {
      // One script: the claims, then the token's key when there is one.
      await this.#redis.eval(
        COMPLETE_CLAIMS,
        token ? [...claimKeys, token.key] : claimKeys,
        token ? token.args : [ttl],
      );
      return;
    }
    await Promise.all([
      ...claimKeys.map((key) => this.#redis.eval(COMPLETE_CLAIMS, [key], [ttl])),
      ...(token ? [this.#redis.eval(COMPLETE_CLAIMS, [token.key], token.args)] : []),
    ]);
  }

  releaseClaims(keys: readonly string[], owner: string): Promise<void> {
    return this.#release(
      keys.map((key) => this.#claimKey(key)),
      owner,
    );
  }

  async #acquire(claimKeys: string[], args: string[]): Promise<ClaimOutcome> {
    return this.#claimOutcome(await this.#redis.eval(ACQUIRE_CLAIMS, claimKeys, args));
  }

  #claimOutcome(reply: unknown): ClaimOutcome {
    const outcome = CLAIM_OUTCOMES[Number(reply)];
    if (outcome === undefined) throw new Error(`unexpected claim reply ${String(reply)}`);
    return outcome;
  }

  async #release(claimKeys: string[], owner: string): Promise<void> {
    if (claimKeys.length === 0) return;
    // One script for all, or on a cluster one per key.
    const batches = this.#redis.isCluster ? claimKeys.map((key) => [key]) : [claimKeys];
    await Promise.all(batches.map((batch) => this.#redis.eval(RELEASE_CLAIMS, batch, [owner])));
  }
}
