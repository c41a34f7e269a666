import type {
  ClaimKeysOf,
  ClaimLease,
  ClaimOutcome,
  ConsumedToken,
  SessionClaims,
  StoredToken,
  TokenStore,
} from '../types.js';
import { readThenClaim } from './session-claims.js';
import { redisCommands, type RedisClient, type RedisCommands } from './redis-clients.js';

/** Options of {@link RedisTokenStore}. */
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

// A claim's value: "sent" once completed, else "{lease end}:{owner}" while (and after) someone
// holds it. The claim scripts take every claim of a delivery (and, on completion, its session
// token) in one round trip; on a cluster, where the keys live on different nodes, the store
// runs them once per key instead.
const COMPLETED = 'sent';

// All or none: "completed" wins over "held", "held" over "resumed". A claim its owner already
// holds counts as free: a client re-sends a script whose answer a dropped connection lost. A
// claim whose lease ended is free too, but taking it is "resumed": its sender may have sent.
// ARGV: 1 owner, 2 lease end, 3 now (both ms since the epoch, the client's clock), 4 how long
// the claim is kept (ms). Answers index CLAIM_OUTCOMES.
const ACQUIRE = `
local function acquire(claims)
  local held, resumed = false, false
  for _, key in ipairs(claims) do
    local value = redis.call('GET', key)
    if value == '${COMPLETED}' then return 2 end
    if value then
      local sep = string.find(value, ':', 1, true)
      if not sep or string.sub(value, sep + 1) ~= ARGV[1] then
        if sep and tonumber(string.sub(value, 1, sep - 1)) > tonumber(ARGV[3]) then
          held = true
        else
          resumed = true
        end
      end
    end
  end
  if held then return 1 end
  local claim = ARGV[2] .. ':' .. ARGV[1]
  for _, key in ipairs(claims) do redis.call('SET', key, claim, 'PX', ARGV[4]) end
  if resumed then return 3 end
  return 0
end`;

const ACQUIRE_CLAIMS = `${ACQUIRE}
return acquire(KEYS)`;

// KEYS[1]: the session's token key, in either form (see saveToken). ARGV[5...]: the names of the conversion's claims, with
// byte 1 where the entry's product id goes and byte 2 where its token goes (see
// claimTemplates): the names depend on the entry, which only the script reads. A single Redis
// allows keys that are not in KEYS; a cluster does not (there the store reads, then claims).
const ACQUIRE_SESSION_CLAIMS = `${ACQUIRE}
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local ok, entry = pcall(cjson.decode, raw)
local token, productId, capturedAt
if ok and type(entry) == 'table' then
  if entry[1] ~= nil then
    token, productId, capturedAt = entry[1], entry[2], entry[3]
  else
    token, productId, capturedAt = entry.token, entry.productId, entry.capturedAt
  end
end
if type(token) ~= 'string' or type(productId) ~= 'string' or type(capturedAt) ~= 'number' then
  return { raw, -1 }
end
local fill = function(slot) if slot == '\\1' then return productId end return token end
local claims = {}
for i = 5, #ARGV do claims[#claims + 1] = string.gsub(ARGV[i], '[\\1\\2]', fill) end
return { raw, acquire(claims) }`;

// A forgotten visitor's token (forget()): one key, so a script runs on a cluster as it is.
const DELETE_TOKEN = `redis.call('DEL', KEYS[1])
return 0`;

// A session's voucher code, used up by its redemption (ARGV[1]: only while it is still that
// code, so that a newer voucher link survives) or forgotten (no ARGV). One key, as above.
const DELETE_COUPON_CODE = `
if #ARGV == 0 or redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`;

const CLAIM_OUTCOMES: readonly ClaimOutcome[] = ['acquired', 'held', 'completed', 'resumed'];

/** The claim names `claimKeysOf` makes, with the slots the session script fills in. */
const claimTemplates = (claimKeysOf: ClaimKeysOf): string[] =>
  claimKeysOf({ productId: '\u0001', token: '\u0002' });

// KEYS: the claims, then the session's token key when ARGV[2] and ARGV[3] (how the token's
// stored value starts, in each form) are given. The token is deleted only while it is still
// the one sent, so a newer click survives; the value is our own JSON, which starts with the
// token (see saveToken), so a prefix test is enough, and cheaper for Redis than decoding it.
const COMPLETE_CLAIMS = `
local claims = #KEYS
if ARGV[2] then
  claims = claims - 1
  local value = redis.call('GET', KEYS[#KEYS])
  if value and (string.sub(value, 1, #ARGV[2]) == ARGV[2]
    or string.sub(value, 1, #ARGV[3]) == ARGV[3]) then
    redis.call('DEL', KEYS[#KEYS])
  end
end
for i = 1, claims do redis.call('SET', KEYS[i], '${COMPLETED}', 'PX', ARGV[1]) end
return 0`;

/** How a stored value of `token` starts: now, and as version 0.1.0 wrote it. */
const tokenPrefixes = (token: string): [string, string] => [
  `[${JSON.stringify(token)},`,
  `{"token":${JSON.stringify(token)},`,
];

// A cluster's taking of one key, undone: it ran out before, and still has, so that whoever
// takes it next is told (`resumed`).
const LAPSE_CLAIM = `
local value = redis.call('GET', KEYS[1])
if value and string.sub(value, -#ARGV[1] - 1) == ':' .. ARGV[1] then
  redis.call('SET', KEYS[1], '0:' .. ARGV[1], 'KEEPTTL')
end
return 0`;

// Only a claim's owner may give it up: after a lease ended, another sender may own it.
const RELEASE_CLAIMS = `
for _, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  if value then
    local sep = string.find(value, ':', 1, true)
    if sep and string.sub(value, sep + 1) == ARGV[1] then redis.call('DEL', key) end
  end
end
return 0`;

const leaseArgs = (owner: string, lease: ClaimLease): string[] => [
  owner,
  String(lease.endsAt),
  String(Date.now()),
  String(lease.keepSeconds * 1000),
];

/** A stored value in either form: `[token, productId, capturedAt]`, or the earlier object. */
function parseStoredToken(raw: string | null): StoredToken | undefined {
  if (raw === null) return undefined;
  try {
    const value = JSON.parse(raw) as unknown;
    const [token, productId, capturedAt] = Array.isArray(value)
      ? (value as unknown[])
      : typeof value === 'object' && value !== null
        ? [
            (value as Partial<StoredToken>).token,
            (value as Partial<StoredToken>).productId,
            (value as Partial<StoredToken>).capturedAt,
          ]
        : [];
    if (
      typeof token === 'string' &&
      typeof productId === 'string' &&
      typeof capturedAt === 'number'
    ) {
      return { token, productId, capturedAt };
    }
  } catch {
    // Not ours, or written by an incompatible version: treat as absent rather than crash.
  }
  return undefined;
}

/**
 * Keeps tokens in Redis, shared by every instance of the shop. Keys:
 * `{prefix}token:{sessionKey}` (JSON `[token, productId, capturedAt]`, with the token's TTL),
 * `{prefix}coupon:{sessionKey}` (a voucher link's code, as it is, with the same TTL) and
 * `{prefix}claim:{id}` (the send claims that make each conversion and redemption go out once).
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

  /**
   * A key of its own, not a field of the token's entry: the two are used up apart (a conversion
   * deletes its token whole, by the entry's start), and a session may hold a code and no token.
   */
  #couponCodeKey(sessionKey: string): string {
    return `${this.#prefix}coupon:${sessionKey}`;
  }

  #claimKey(key: string): string {
    return `${this.#prefix}claim:${key}`;
  }

  async saveToken(sessionKey: string, entry: StoredToken, ttlSeconds: number): Promise<void> {
    // An array, not an object: every anonymous landing keeps one for ttlSeconds, and the field
    // names were a quarter of it (issue 12). The token comes first: completeClaims recognises
    // the entry by its start (tokenPrefixes). Version 0.1.0 wrote
    // {"token","productId","capturedAt"}, which is still read for as long as those live.
    const { token, productId, capturedAt } = entry;
    await this.#redis.set(
      this.#tokenKey(sessionKey),
      JSON.stringify([token, productId, capturedAt]),
      { ms: ttlSeconds * 1000 },
    );
  }

  async getToken(sessionKey: string): Promise<StoredToken | undefined> {
    return parseStoredToken(await this.#redis.get(this.#tokenKey(sessionKey)));
  }

  async deleteToken(sessionKey: string): Promise<void> {
    await this.#redis.eval(DELETE_TOKEN, [this.#tokenKey(sessionKey)], []);
  }

  async saveCouponCode(sessionKey: string, couponCode: string, ttlSeconds: number): Promise<void> {
    await this.#redis.set(this.#couponCodeKey(sessionKey), couponCode, { ms: ttlSeconds * 1000 });
  }

  async getCouponCode(sessionKey: string): Promise<string | undefined> {
    return (await this.#redis.get(this.#couponCodeKey(sessionKey))) ?? undefined;
  }

  async deleteCouponCode(sessionKey: string, couponCode?: string): Promise<void> {
    const args = couponCode === undefined ? [] : [couponCode];
    await this.#redis.eval(DELETE_COUPON_CODE, [this.#couponCodeKey(sessionKey)], args);
  }

  async acquireClaims(
    keys: readonly string[],
    owner: string,
    lease: ClaimLease,
  ): Promise<ClaimOutcome> {
    const claimKeys = keys.map((key) => this.#claimKey(key));
    const args = leaseArgs(owner, lease);
    if (!this.#redis.isCluster) return this.#acquire(claimKeys, args);
    // Each key on its own, then what was taken is given back if any was not free: the same
    // outcome, except that a competitor may briefly see a claim that is about to be released.
    const outcomes = await Promise.allSettled(claimKeys.map((key) => this.#acquire([key], args)));
    const taken = (outcome: ClaimOutcome) =>
      claimKeys.filter((_, index) => {
        const settled = outcomes[index];
        return settled?.status === 'fulfilled' && settled.value === outcome;
      });
    const [acquired, resumed] = [taken('acquired'), taken('resumed')];
    if (acquired.length + resumed.length === claimKeys.length) {
      return resumed.length > 0 ? 'resumed' : 'acquired';
    }
    // Undone, or else the leases end by themselves.
    await Promise.all([
      this.#release(acquired, owner),
      ...resumed.map((key) => this.#redis.eval(LAPSE_CLAIM, [key], [owner])),
    ]).catch(() => undefined);
    const failure = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failure) throw failure.reason;
    const completed = outcomes.some(
      (outcome) => outcome.status === 'fulfilled' && outcome.value === 'completed',
    );
    return completed ? 'completed' : 'held';
  }

  async acquireSessionClaims(
    sessionKey: string,
    claimKeysOf: ClaimKeysOf,
    owner: string,
    lease: ClaimLease,
  ): Promise<SessionClaims | undefined> {
    if (this.#redis.isCluster) return readThenClaim(this, sessionKey, claimKeysOf, owner, lease);
    const reply = await this.#redis.eval(
      ACQUIRE_SESSION_CLAIMS,
      [this.#tokenKey(sessionKey)],
      [
        ...leaseArgs(owner, lease),
        ...claimTemplates(claimKeysOf).map((key) => this.#claimKey(key)),
      ],
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
      args: [ttl, ...tokenPrefixes(consumed.token)],
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
