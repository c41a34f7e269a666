import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { createClient } from 'redis';
import { tokenClaimKey } from '../src/claim-keys.js';
import {
  MemoryTokenStore,
  RedisTokenStore,
  type SessionClaims,
  type StoredToken,
  type TokenStore,
} from '../src/index.js';
import { boundStore } from '../src/stores/bounded-store.js';
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
      Array.from({ length: 20 }, (_, owner) => store.acquireClaims(claim, `owner-${owner}`, 5_000)),
    );
    expect(grants.filter((grant) => grant === 'acquired')).toHaveLength(1);
    expect(grants.filter((grant) => grant === 'held')).toHaveLength(19);
  });

  it('grants claims again to their owner, as a call repeated after a lost answer', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', 5_000)).toBe('acquired');
    expect(await store.acquireClaims(claims, 'a', 5_000)).toBe('acquired');
    expect(await store.acquireClaims(claims, 'b', 5_000)).toBe('held');
  });

  it('takes all the claims of a delivery or none of them', async () => {
    const token = unique('token-claim');
    const order = unique('order-claim');
    expect(await store.acquireClaims([order], 'other-order', 5_000)).toBe('acquired');
    expect(await store.acquireClaims([token, order], 'a', 5_000)).toBe('held');
    // The token's claim was not taken by the failed attempt: another delivery gets it.
    expect(await store.acquireClaims([token], 'b', 5_000)).toBe('acquired');
  });

  it('says completed, not held, when any claim of a delivery was completed', async () => {
    const sent = unique('claim');
    const busy = unique('claim');
    await store.acquireClaims([sent], 'a', 5_000);
    await store.completeClaims([sent], 60);
    await store.acquireClaims([busy], 'b', 5_000);
    expect(await store.acquireClaims([busy, sent], 'c', 5_000)).toBe('completed');
  });

  it('lets only the owner release claims, after which they can be taken again', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', 5_000)).toBe('acquired');
    await store.releaseClaims(claims, 'b');
    expect(await store.acquireClaims(claims, 'b', 5_000)).toBe('held');
    await store.releaseClaims(claims, 'a');
    expect(await store.acquireClaims(claims, 'b', 5_000)).toBe('acquired');
  });

  it('frees a claim whose lease ran out (a sender that crashed)', async () => {
    const claim = [unique('claim')];
    expect(await store.acquireClaims(claim, 'crashed', 50)).toBe('acquired');
    await sleep(120);
    expect(await store.acquireClaims(claim, 'next', 5_000)).toBe('acquired');
  });

  it('never grants completed claims again, not even to their former owner', async () => {
    const claims = [unique('claim'), unique('claim')];
    expect(await store.acquireClaims(claims, 'a', 5_000)).toBe('acquired');
    await store.completeClaims(claims, 60);
    await store.releaseClaims(claims, 'a');
    expect(await store.acquireClaims([claims[1]!], 'a', 5_000)).toBe('completed');
  });

  it('deletes the consumed token on completion, but only while it is still that token', async () => {
    const session = unique('session');
    const claim = [unique('claim')];
    await store.saveToken(session, entry('newer'), 60);
    await store.acquireClaims(claim, 'a', 5_000);
    await store.completeClaims(claim, 60, { sessionKey: session, token: 'older' });
    expect(await store.getToken(session)).toEqual(entry('newer'));
    expect(await store.acquireClaims(claim, 'b', 5_000)).toBe('completed');

    const next = [unique('claim')];
    await store.acquireClaims(next, 'a', 5_000);
    await store.completeClaims(next, 60, { sessionKey: session, token: 'newer' });
    expect(await store.getToken(session)).toBeUndefined();
  });

  // The checkout's shortcut as the delivery service calls it: through boundStore, which gives
  // a store without it (MemoryTokenStore) the two steps instead.
  const acquireSessionClaims = (
    sessionKey: string,
    keys: readonly string[],
    owner: string,
  ): Promise<SessionClaims | undefined> =>
    boundStore(store, 5_000).acquireSessionClaims(sessionKey, keys, owner, 5_000);

  it("reads the session's token and claims its conversion, under the token's own claim", async () => {
    const session = unique('session');
    const token = unique('session-token');
    const order = unique('order-claim');
    await store.saveToken(session, entry(token), 60);
    expect(await acquireSessionClaims(session, [order], 'a')).toEqual({
      entry: entry(token),
      claim: 'acquired',
    });
    // The same claims sendConversion takes for this token, whoever sends it.
    expect(await store.acquireClaims([tokenClaimKey(PRODUCT_ID, token)], 'b', 5_000)).toBe('held');
    expect(await store.acquireClaims([order], 'b', 5_000)).toBe('held');
    await store.completeClaims([tokenClaimKey(PRODUCT_ID, token), order], 60);
    expect(await acquireSessionClaims(session, [unique('order-claim')], 'c')).toMatchObject({
      claim: 'completed',
    });
  });

  it('claims nothing for a session without a token', async () => {
    const order = unique('order-claim');
    expect(await acquireSessionClaims(unique('session'), [order], 'a')).toBeUndefined();
    expect(await store.acquireClaims([order], 'b', 5_000)).toBe('acquired');
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
});

describe('RedisTokenStore', () => {
  it('treats a value it cannot read as no token, rather than crashing', async () => {
    const session = unique('garbage');
    await redis.client.set(`${redis.prefix}token:${session}`, 'not json', 'EX', 60);
    expect(await redis.store.getToken(session)).toBeUndefined();
    const claim = [unique('claim')];
    await redis.store.acquireClaims(claim, 'a', 5_000);
    await expect(
      redis.store.completeClaims(claim, 60, { sessionKey: session, token: 'x' }),
    ).resolves.toBeUndefined();
    const order = [unique('claim')];
    expect(await redis.store.acquireSessionClaims(session, order, 'a', 5_000)).toBeUndefined();
    expect(await redis.store.acquireClaims(order, 'b', 5_000)).toBe('acquired');
  });
});
