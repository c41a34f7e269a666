import Redis from 'ioredis';
import request from 'supertest';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { startExampleShop, type RunningShop } from './support/child-shop.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { API_KEY, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

/** Lands with the printed URL, buys a mug, and returns the thank-you page. */
async function buyAMug(shop: RunningShop): Promise<string> {
  const visitor = request.agent(shop.url.origin);
  const landing = await visitor.get(`/${shop.url.search}`).expect(200);
  expect(landing.text).toContain('<strong>12345-te…</strong>');
  await visitor.post('/cart').type('form').send({ productId: 'mug', quantity: '1' }).expect(303);
  const placed = await visitor.post('/checkout').type('form').send({ name: 'Ada' }).expect(303);
  return (await visitor.get(placed.headers.location!).expect(200)).text;
}

describe('npm start with no configuration', () => {
  let shop: RunningShop;
  beforeAll(async () => {
    shop = await startExampleShop({});
  }, 30_000);
  afterAll(() => {
    shop.stop();
  });

  it('runs offline and prints a landing URL with the Sovendus test token', () => {
    expect(shop.output()).toContain('running offline');
    expect(shop.url.searchParams.get('sovReqToken')).toBe(TEST_TOKEN);
  });

  it('converts the test token when the visitor buys, and says so', async () => {
    expect(await buyAMug(shop)).toContain('Sovendus conversion sent');
    expect(shop.output()).toContain('✓ Sovendus accepted the conversion for token 12345-te…');
  });
});

describe('npm start with Sovendus settings in the environment', () => {
  let api: FakeSovendusApi;
  let shop: RunningShop;
  beforeAll(async () => {
    api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
    shop = await startExampleShop({
      SOVENDUS_PRODUCT_ID: PRODUCT_ID,
      SOVENDUS_API_KEY: API_KEY,
      SOVENDUS_API_BASE_URL: api.url,
    });
  }, 30_000);
  afterAll(async () => {
    shop.stop();
    await api.close();
  });

  it('sends the conversion to the configured API, once', async () => {
    expect(shop.output()).toContain('with your Sovendus settings (memory store)');
    expect(await buyAMug(shop)).toContain('Sovendus conversion sent');
    expect(api.calls.map((call) => [call.productId, call.token, call.apiKey])).toEqual([
      [PRODUCT_ID, TEST_TOKEN, API_KEY],
    ]);
  });
});

(hasRedisServer ? describe : describe.skip)('npm start with REDIS_URL', () => {
  let redisServer: RedisServer;
  let api: FakeSovendusApi;
  let shop: RunningShop;
  beforeAll(async () => {
    // A Redis of the test's own: the example uses its default key prefixes.
    redisServer = await startRedisServer();
    api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
    shop = await startExampleShop({
      SOVENDUS_PRODUCT_ID: PRODUCT_ID,
      SOVENDUS_API_KEY: API_KEY,
      SOVENDUS_API_BASE_URL: api.url,
      REDIS_URL: redisServer.url,
    });
  }, 30_000);
  afterAll(async () => {
    shop.stop();
    await api.close();
    await redisServer.kill();
  });

  it('keeps tokens and sessions in Redis, each session as long as a token', async () => {
    expect(shop.output()).toContain('(Redis store)');
    expect(await buyAMug(shop)).toContain('Sovendus conversion sent');
    const client = new Redis(redisServer.url);
    try {
      const [session] = await client.keys('example-shop:sess:*');
      expect(await client.ttl(session!)).toBeGreaterThan(2_592_000 - 60);
      expect(await client.get(`sovendus:claim:conversion:${PRODUCT_ID}:${TEST_TOKEN}`)).toBe(
        'sent',
      );
    } finally {
      client.disconnect();
    }
  });
});

it('refuses to start, naming the variable, when a setting is wrong', async () => {
  await expect(
    startExampleShop({ SOVENDUS_PRODUCT_ID: 'nope', SOVENDUS_API_KEY: API_KEY }),
  ).rejects.toThrow(/SOVENDUS_PRODUCT_ID: must be a UUID/);
});
