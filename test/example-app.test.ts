import { connect, createServer } from 'node:net';
import Redis from 'ioredis';
import request from 'supertest';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { startExampleShop, type RunningShop } from './support/child-shop.js';
import {
  freePort,
  hasRedisServer,
  startRedisServer,
  type RedisServer,
} from './support/redis-server.js';
import { API_KEY, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

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
  afterAll(async () => {
    await shop.stop();
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
    await shop.stop();
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
    await shop.stop();
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

/** Whether nothing listens on `port` any more: a connection there is refused. */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((answer) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      answer(false);
    });
    socket.once('error', () => {
      answer(true);
    });
  });
}

it('leaves nothing holding its port after SIGTERM to npm start', async () => {
  const shop = await startExampleShop({});
  const port = Number(shop.url.port);
  expect(await portIsFree(port)).toBe(false);
  await shop.stop();
  await waitFor(() => portIsFree(port), `port ${port} to be free`, {
    detail: () => shop.output(),
  });
}, 30_000);

it('says the port is taken, and how to choose another, when it is', async () => {
  const holder = createServer();
  await new Promise<void>((listening) => holder.listen(0, '127.0.0.1', listening));
  const { port } = holder.address() as { port: number };
  try {
    const started = startExampleShop({ PORT: String(port) });
    await expect(started).rejects.toThrow(/exited \(1\)/);
    await expect(started).rejects.toThrow(
      `Port ${port} is taken: another program listens there. Choose a free one with PORT, ` +
        'such as PORT=3001 npm start.',
    );
    await expect(started).rejects.not.toThrow('TypeError');
  } finally {
    await new Promise((closed) => holder.close(closed));
  }
}, 30_000);

it('answers pages, and says why sessions fail, when REDIS_URL points where nothing listens', async () => {
  const shop = await startExampleShop({
    SOVENDUS_PRODUCT_ID: PRODUCT_ID,
    SOVENDUS_API_KEY: API_KEY,
    REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
  });
  try {
    const visitor = request.agent(shop.url.origin);
    // Bounds generous enough for a loaded machine; without fail-fast settings each took 40 s.
    const landing = await visitor.get(`/${shop.url.search}`).timeout(10_000);
    expect(landing.status).toBe(200);
    // A cart needs a session, and sessions live in Redis: the cart page says they fail.
    await visitor
      .post('/cart')
      .type('form')
      .send({ productId: 'mug', quantity: '1' })
      .timeout(10_000);
    const cart = await visitor.get('/cart').timeout(10_000);
    expect(cart.status).toBe(503);
    expect(cart.text).toContain('The shop cannot reach its session store (Redis)');
    expect(shop.output()).toContain('cannot reach Redis');
    expect(shop.output()).toContain('✗ session store failed:');
    // One line for each failure, no stack.
    expect(shop.output()).not.toContain('Unhandled error event');
    expect(shop.output()).not.toMatch(/^\s+at /m);
  } finally {
    await shop.stop();
  }
}, 60_000);
