import { MemoryTokenStore, type StoredToken, type TokenStore } from '../src/index.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
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

// One specification, every store: what the conversion logic relies on.
describe.each<[string, () => TokenStore]>([
  ['MemoryTokenStore', () => new MemoryTokenStore()],
  ['RedisTokenStore', () => redis.store],
])('%s', (_name, makeStore) => {
  let store: TokenStore;
  beforeEach(() => {
    store = makeStore();
  });

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

  it('deletes a token only while it is still the same token', async () => {
    const session = unique('session');
    await store.saveToken(session, entry('newer'), 60);
    await store.deleteToken(session, 'older');
    expect(await store.getToken(session)).toEqual(entry('newer'));
    await store.deleteToken(session, 'newer');
    expect(await store.getToken(session)).toBeUndefined();
  });

  it('grants a claim to one owner at a time, atomically', async () => {
    const claim = unique('claim');
    const grants = await Promise.all(
      Array.from({ length: 20 }, (_, owner) => store.acquireClaim(claim, `owner-${owner}`, 5_000)),
    );
    expect(grants.filter(Boolean)).toHaveLength(1);
  });

  it('lets only the owner release a claim, after which it can be taken again', async () => {
    const claim = unique('claim');
    expect(await store.acquireClaim(claim, 'a', 5_000)).toBe(true);
    await store.releaseClaim(claim, 'b');
    expect(await store.acquireClaim(claim, 'b', 5_000)).toBe(false);
    await store.releaseClaim(claim, 'a');
    expect(await store.acquireClaim(claim, 'b', 5_000)).toBe(true);
  });

  it('frees a claim whose lease ran out (a sender that crashed)', async () => {
    const claim = unique('claim');
    expect(await store.acquireClaim(claim, 'crashed', 50)).toBe(true);
    await sleep(120);
    expect(await store.acquireClaim(claim, 'next', 5_000)).toBe(true);
  });

  it('never grants a completed claim again, not even to its former owner', async () => {
    const claim = unique('claim');
    expect(await store.acquireClaim(claim, 'a', 5_000)).toBe(true);
    await store.completeClaim(claim, 60);
    await store.releaseClaim(claim, 'a');
    expect(await store.acquireClaim(claim, 'a', 5_000)).toBe(false);
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
    await expect(redis.store.deleteToken(session, 'x')).resolves.toBeUndefined();
  });
});
