import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { createClient } from 'redis';
import { conversionClaimKeys, orderClaimKey, tokenClaimKey } from '../src/delivery/claim-ledger.js';
import {
  MemoryTokenStore,
  RedisTokenStore,
  type ClaimLease,
  type SessionClaims,
  type StoredToken,
  type TokenStore,
} from '../src/index.js';
import { readThenClaim } from '../src/stores/session-claims.js';
import { connectTestRedis, testRedisUrl, type TestRedis } from './support/redis.js';
import { hasRedisCli, hasRedisServer, startRedisCluster } from './support/redis-server.js';
import { PRODUCT_ID } from './support/shop.js';

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

const entry = (token: string): StoredToken => ({ token, productId: PRODUCT_ID, capturedAt: 1 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let counter = 0;
const unique = (name: string) => `${name}-${(counter += 1)}`;

interface StoreUnderTest {
  store: TokenStore;
  close: () => Promise<void>;
}

const keep = () => Promise.resolve();

/** A lease that ends `ms` from now (in the past when negative); claims are kept a minute. */
const lease = (ms = 5_000): ClaimLease => ({ endsAt: Date.now() + ms, keepSeconds: 60 });

const canCluster = hasRedisServer && hasRedisCli;

// One specification, every store and every client: what the conversion logic relies on.
describe.each<[string, () => Promise<StoreUnderTest>]>([
  ['MemoryTokenStore', () => Promise.resolve({ store: new MemoryTokenStore(), close: keep })],
  ['RedisTokenStore on ioredis', () => Promise.resolve({ store: redis.store, close: keep })],
  [
    'RedisTokenStore on node-redis v5',
    async () => {
      const client = createClient({ url: testRedisUrl() });
      await client.connect();
      return {
        store: new RedisTokenStore({ client, prefix: redis.prefix }),
        close: () => {
          client.destroy();
          return Promise.resolve();
        },
      };
    },
  ],
  ...(canCluster
    ? [
        [
          'RedisTokenStore on a 3-node Redis Cluster (ioredis)',
          async () => {
            const cluster = await startRedisCluster();
            const client = new Cluster(cluster.nodes);
            return {
              store: new RedisTokenStore({ client, prefix: `sovendus-test:${randomUUID()}:` }),
              close: async () => {
                client.disconnect();
                await cluster.kill();
              },
            };
          },
        ] as [string, () => Promise<StoreUnderTest>],
      ]
    : []),
])('%s', (_name, setUp) => {
  let store: TokenStore;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ store, close } = await setUp());
  }, 30_000);
  afterAll(() => close());

  it('returns what was saved, and the newest save wins', async () => {
    const session = unique('session');
    expect(await store.getToken(session)).toBeUndefined();
    await store.saveToken(session, entry('first'), 60);
    await store.saveToken(session, entry('second'), 60);
    expect(await store.getToken(session)).toEqual(entry('second'));
  });

  it('forgets a token after its TTL', async () => {
    const session = unique('session');
    await store.saveToken(session, entry('short-lived'), 1);
    await sleep(1_100);
    expect(await store.getToken(session)).toBeUndefined();
  });

  it('grants a claim to one owner at a time, atomically', async () => {
    const claim = [unique('claim')];
    const grants = await Promise.all(
      Array.from({ length: 20 }, (_, owner) =>
        store.acquireClaims(claim, `owner-${owner}`, lease()),
      ),
    );
    expect(grants.filter((grant) => grant === 'acquired')).toHaveLength(1);
    expect(grants.filter((grant) => grant === 'held')).toHaveLength(19);
  });

  it('grants claims again to their owner, as a call repeated after a lost answer', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', lease())).toBe('acquired');
    expect(await store.acquireClaims(claims, 'a', lease())).toBe('acquired');
    expect(await store.acquireClaims(claims, 'b', lease())).toBe('held');
  });

  it('takes all the claims of a delivery or none of them', async () => {
    const token = unique('token-claim');
    const order = unique('order-claim');
    expect(await store.acquireClaims([order], 'other-order', lease())).toBe('acquired');
    expect(await store.acquireClaims([token, order], 'a', lease())).toBe('held');
    // The token's claim was not taken by the failed attempt: another delivery gets it.
    expect(await store.acquireClaims([token], 'b', lease())).toBe('acquired');
  });

  it('says completed, not held, when any claim of a delivery was completed', async () => {
    const sent = unique('claim');
    const busy = unique('claim');
    await store.acquireClaims([sent], 'a', lease());
    await store.completeClaims([sent], 60);
    await store.acquireClaims([busy], 'b', lease());
    expect(await store.acquireClaims([busy, sent], 'c', lease())).toBe('completed');
  });

  it('lets only the owner release claims, after which they can be taken again', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', lease())).toBe('acquired');
    await store.releaseClaims(claims, 'b');
    expect(await store.acquireClaims(claims, 'b', lease())).toBe('held');
    await store.releaseClaims(claims, 'a');
    expect(await store.acquireClaims(claims, 'b', lease())).toBe('acquired');
  });

  it('frees a claim whose lease ran out (a sender that crashed), and says it was resumed', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'crashed', lease(-1))).toBe('acquired');
    expect(await store.acquireClaims(claims, 'next', lease())).toBe('resumed');
    // Resumed claims are held like any other.
    expect(await store.acquireClaims(claims, 'third', lease())).toBe('held');
  });

  it('says held, not resumed, when one claim ran out and another is still held', async () => {
    const lapsed = unique('claim');
    const busy = unique('claim');
    await store.acquireClaims([lapsed], 'crashed', lease(-1));
    await store.acquireClaims([busy], 'alive', lease());
    expect(await store.acquireClaims([lapsed, busy], 'next', lease())).toBe('held');
    // Nothing was taken by that attempt: the lapsed claim is still there to be resumed.
    expect(await store.acquireClaims([lapsed], 'after', lease())).toBe('resumed');
  });

  it('never grants completed claims again, not even to their former owner', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', lease())).toBe('acquired');
    await store.completeClaims(claims, 60);
    await store.releaseClaims(claims, 'a');
    expect(await store.acquireClaims([claims[1]!], 'a', lease())).toBe('completed');
  });

  it('deletes the consumed token on completion, but only while it is still that token', async () => {
    const session = unique('session');
    const claim = [unique('claim')];
    await store.saveToken(session, entry('newer'), 60);
    await store.acquireClaims(claim, 'a', lease());
    await store.completeClaims(claim, 60, { sessionKey: session, token: 'older' });
    expect(await store.getToken(session)).toEqual(entry('newer'));
    expect(await store.acquireClaims(claim, 'b', lease())).toBe('completed');

    const next = [unique('claim')];
    await store.acquireClaims(next, 'a', lease());
    await store.completeClaims(next, 60, { sessionKey: session, token: 'newer' });
    expect(await store.getToken(session)).toBeUndefined();
  });

  // Voucher links: the code a session captured lives beside its token, and apart from it.
  const coupons = () => {
    const missing = () => Promise.reject(new Error('the store keeps no voucher codes'));
    return {
      save: (session: string, code: string, ttl: number) =>
        store.saveCouponCode?.(session, code, ttl) ?? missing(),
      get: (session: string) => store.getCouponCode?.(session) ?? missing(),
      delete: (session: string, code?: string) =>
        store.deleteCouponCode?.(session, code) ?? missing(),
    };
  };

  it("keeps a session's voucher code beside its token, each used up on its own", async () => {
    const session = unique('session');
    const code = coupons();
    expect(await code.get(session)).toBeUndefined();
    await code.save(session, 'FIRST-10', 60);
    await code.save(session, 'SECOND:10%', 60);
    await store.saveToken(session, entry('landed'), 60);
    expect(await code.get(session)).toBe('SECOND:10%');
    // The conversion uses up the token, not the code.
    const claim = [unique('claim')];
    await store.acquireClaims(claim, 'a', lease());
    await store.completeClaims(claim, 60, { sessionKey: session, token: 'landed' });
    expect(await store.getToken(session)).toBeUndefined();
    expect(await code.get(session)).toBe('SECOND:10%');
    // And the code's deletion leaves a token alone.
    await store.saveToken(session, entry('again'), 60);
    await code.delete(session);
    expect(await code.get(session)).toBeUndefined();
    expect(await store.getToken(session)).toEqual(entry('again'));
  });

  it('deletes a voucher code named on deletion only while the session still holds it', async () => {
    const session = unique('session');
    const code = coupons();
    await code.save(session, 'NEWER', 60);
    await code.delete(session, 'OLDER');
    expect(await code.get(session)).toBe('NEWER');
    await code.delete(session, 'NEWER');
    expect(await code.get(session)).toBeUndefined();
  });

  it('forgets a voucher code after its TTL', async () => {
    const session = unique('session');
    await coupons().save(session, 'SHORT', 1);
    await sleep(1_100);
    expect(await coupons().get(session)).toBeUndefined();
  });

  // The checkout's shortcut as the claim ledger calls it: a store without it
  // (MemoryTokenStore) gets the two steps instead.
  const acquireSessionClaims = (
    sessionKey: string,
    orderId: string | undefined,
    owner: string,
  ): Promise<SessionClaims | null | undefined> =>
    store.acquireSessionClaims
      ? store.acquireSessionClaims(sessionKey, conversionClaimKeys(orderId), owner, lease())
      : readThenClaim(store, sessionKey, conversionClaimKeys(orderId), owner, lease());

  it("reads the session's token and claims its conversion, under the token's and the order's claims", async () => {
    const session = unique('session');
    const token = unique('session-token');
    const order = unique('order');
    await store.saveToken(session, entry(token), 60);
    expect(await acquireSessionClaims(session, order, 'a')).toEqual({
      entry: entry(token),
      claim: 'acquired',
    });
    // The same claims sendConversion takes for this token and order, whoever sends it.
    const tokenClaim = tokenClaimKey(PRODUCT_ID, token);
    const orderClaim = orderClaimKey(PRODUCT_ID, order);
    expect(await store.acquireClaims([tokenClaim], 'b', lease())).toBe('held');
    expect(await store.acquireClaims([orderClaim], 'b', lease())).toBe('held');
    await store.completeClaims([tokenClaim, orderClaim], 60);
    expect(await acquireSessionClaims(session, unique('order'), 'c')).toMatchObject({
      claim: 'completed',
    });
  });

  it('fills in claim names that hold any character an order id may have', async () => {
    const session = unique('session');
    const token = unique('session-token');
    const order = `%1 .* [x] ${unique('order')} ü "quoted"`;
    await store.saveToken(session, entry(token), 60);
    expect(await acquireSessionClaims(session, order, 'a')).toMatchObject({ claim: 'acquired' });
    expect(await store.acquireClaims([orderClaimKey(PRODUCT_ID, order)], 'b', lease())).toBe(
      'held',
    );
  });

  it('claims nothing for a session without a token', async () => {
    const order = unique('order');
    expect(await acquireSessionClaims(unique('session'), order, 'a')).toBeUndefined();
    expect(await store.acquireClaims([orderClaimKey(PRODUCT_ID, order)], 'b', lease())).toBe(
      'acquired',
    );
  });
});

describe('MemoryTokenStore bounds', () => {
  it('drops the oldest tokens beyond maxEntries', async () => {
    const store = new MemoryTokenStore({ maxEntries: 3 });
    for (const name of ['a', 'b', 'c', 'd']) await store.saveToken(name, entry(name), 60);
    expect(store.size).toBe(3);
    expect(await store.getToken('a')).toBeUndefined();
    expect(await store.getToken('d')).toEqual(entry('d'));
  });

  it('rejects a maxEntries that is not a positive whole number', () => {
    expect(() => new MemoryTokenStore({ maxEntries: 0 })).toThrow(RangeError);
  });

  // Issue 12: 10,000 entries with 8 KB session keys took +85 MB within maxEntries' default.
  const longKey = (index: number) => `${index}:`.padEnd(8_192, 'k');

  it('drops the oldest tokens beyond maxBytes, long keys counted by their length', async () => {
    const store = new MemoryTokenStore({ maxBytes: 1_048_576 });
    for (let index = 0; index < 1_000; index += 1) {
      await store.saveToken(longKey(index), entry(`t${index}`), 60);
    }
    expect(store.size).toBeGreaterThan(100);
    expect(store.size * 8_192).toBeLessThanOrEqual(1_048_576);
    expect(store.bytes).toBeLessThanOrEqual(1_048_576);
    expect(await store.getToken(longKey(999))).toEqual(entry('t999'));
    expect(await store.getToken(longKey(0))).toBeUndefined();
  });

  it('holds at most 8 MiB of tokens by default, whatever their keys', async () => {
    const store = new MemoryTokenStore();
    for (let index = 0; index < 10_000; index += 1) {
      await store.saveToken(longKey(index), entry(`t${index}`), 60);
    }
    expect(store.size * 8_192).toBeLessThanOrEqual(8 * 1_048_576);
    expect(store.bytes).toBeLessThanOrEqual(8 * 1_048_576);
  });

  it('never drops a claim for tokens: a flood of landings leaves checkouts alone', async () => {
    const store = new MemoryTokenStore({ maxEntries: 10, maxBytes: 4_096 });
    expect(await store.acquireClaims(['order:1'], 'sender', lease())).toBe('acquired');
    for (let index = 0; index < 1_000; index += 1) {
      await store.saveToken(`bot-${index}`, entry(`t${index}`), 60);
    }
    expect(await store.acquireClaims(['order:1'], 'another', lease())).toBe('held');
  });

  it('rejects a maxBytes that is not a positive whole number', () => {
    expect(() => new MemoryTokenStore({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => new MemoryTokenStore({ maxBytes: 1.5 })).toThrow(
      'MemoryTokenStore: maxBytes must be a positive whole number',
    );
  });
});

describe('RedisTokenStore', () => {
  // Issue 12: every anonymous landing keeps its token for 30 days, so its bytes are what a
  // flood of bot landings costs (bench/landing-bytes.mjs).
  it('keeps a token in few more bytes than its token and product id', async () => {
    const session = unique('compact');
    const token = '12345-test-123-12345';
    await redis.store.saveToken(session, { token, productId: PRODUCT_ID, capturedAt: 1 }, 60);
    const raw = await redis.client.get(`${redis.prefix}token:${session}`);
    expect(raw!.length).toBeLessThanOrEqual(token.length + PRODUCT_ID.length + 8 + 13);
    expect(await redis.store.getToken(session)).toEqual(entry(token));
  });

  it('reads, claims and deletes a token stored by an earlier version, as a JSON object', async () => {
    const session = unique('earlier');
    const token = unique('earlier-token');
    const earlier = JSON.stringify({ token, productId: PRODUCT_ID, capturedAt: 1 });
    await redis.client.set(`${redis.prefix}token:${session}`, earlier, 'EX', 60);
    expect(await redis.store.getToken(session)).toEqual(entry(token));
    const order = unique('order');
    const found = await redis.store.acquireSessionClaims(
      session,
      conversionClaimKeys(order),
      'a',
      lease(),
    );
    expect(found).toEqual({ entry: entry(token), claim: 'acquired' });
    await redis.store.completeClaims(conversionClaimKeys(order)(entry(token)), 60, {
      sessionKey: session,
      token,
    });
    expect(await redis.client.exists(`${redis.prefix}token:${session}`)).toBe(0);
  });

  it('treats a value it cannot read as no token, rather than crashing', async () => {
    const session = unique('garbage');
    await redis.client.set(`${redis.prefix}token:${session}`, 'not json', 'EX', 60);
    expect(await redis.store.getToken(session)).toBeUndefined();
    const claim = [unique('claim')];
    await redis.store.acquireClaims(claim, 'a', lease());
    await expect(
      redis.store.completeClaims(claim, 60, { sessionKey: session, token: 'x' }),
    ).resolves.toBeUndefined();
    const order = unique('order');
    expect(
      await redis.store.acquireSessionClaims(session, conversionClaimKeys(order), 'a', lease()),
    ).toBeUndefined();
    expect(await redis.store.acquireClaims([orderClaimKey(PRODUCT_ID, order)], 'b', lease())).toBe(
      'acquired',
    );
  });
});
