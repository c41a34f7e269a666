import { createServer, type Server, type Socket } from 'node:net';
import Redis from 'ioredis';
import request from 'supertest';
import { RedisTokenStore, type SovendusEvents } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { API_KEY, createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

// The documented bound: a request waits for the store at most storeTimeoutMs (250 ms by
// default). The assertions allow generous slack for a loaded CI machine; what they catch is a
// request that hangs for ioredis' reconnect (seconds) or fails outright.
const STORE_TIMEOUT_MS = 150;
const BOUND_MS = STORE_TIMEOUT_MS + 1_500;

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(() => api.close());

async function timed<T>(work: () => PromiseLike<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

function shopOn(client: Redis) {
  const shop = createShop({
    store: new RedisTokenStore({ client, prefix: `sovendus-fail-open:${process.pid}:` }),
    apiBaseUrl: api.url,
    storeTimeoutMs: STORE_TIMEOUT_MS,
  });
  const failures: SovendusEvents['failed'][] = [];
  shop.sovendus.on('failed', (event) => failures.push(event));
  return { ...shop, failures };
}

describe('a Redis that accepts connections but never answers', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  let client: Redis;

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket); // swallow every command
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    client = new Redis({ port, host: '127.0.0.1', lazyConnect: false });
  });
  afterAll(async () => {
    client.disconnect();
    sockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => server.close(resolve));
  });

  it('serves the landing page within the bound, and reports the capture failure', async () => {
    const { app, failures } = shopOn(client);
    const { value: response, ms } = await timed(() =>
      request(app).get(`/landing?sovReqToken=${freshTestToken()}`),
    );
    expect(response.status).toBe(200);
    expect(response.text).toBe('shop page');
    expect(ms).toBeLessThan(BOUND_MS);
    expect(failures[0]).toMatchObject({ stage: 'capture', error: { code: 'STORE_UNAVAILABLE' } });
  });

  it('answers the checkout within the bound with a typed, retryable failure', async () => {
    const { app } = shopOn(client);
    const { value: response, ms } = await timed(() => request(app).post('/checkout').send({}));
    expect(ms).toBeLessThan(BOUND_MS);
    expect(response.body).toMatchObject({
      status: 'failed',
      attempts: 0,
      error: { code: 'STORE_UNAVAILABLE' },
    });
    expect(api.calls).toHaveLength(0);
  });

  it('answers a coupon redemption within the bound with a typed, retryable failure', async () => {
    const { sovendus } = createShop({
      store: new RedisTokenStore({ client, prefix: `sovendus-fail-open:${process.pid}:` }),
      coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
      storeTimeoutMs: STORE_TIMEOUT_MS,
    });
    const { value: result, ms } = await timed(() =>
      sovendus.redeemCoupon({ couponCode: 'DURING-OUTAGE', orderId: 'o-1' }),
    );
    expect(ms).toBeLessThan(BOUND_MS);
    expect(result).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    expect(api.calls).toHaveLength(0);
  });
});

(hasRedisServer ? describe : describe.skip)('a real Redis that dies and comes back', () => {
  let server: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    // Reconnects every 500 ms: a command left to ioredis alone would wait 20 retries (10 s),
    // far beyond BOUND_MS, so the bound is what keeps requests short, not a quick reconnect.
    client = new Redis(server.url, { retryStrategy: () => 500 });
  });
  afterAll(async () => {
    client.disconnect();
    await server.kill();
  });

  it('keeps serving the shop while Redis is down, and converts again once it is back', async () => {
    const { app, failures } = shopOn(client);
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}`).expect(200);

    await server.kill();
    const landing = await timed(() => visitor.get(`/?sovReqToken=${freshTestToken()}`));
    expect(landing.value.status).toBe(200);
    expect(landing.ms).toBeLessThan(BOUND_MS);
    const checkout = await timed(() => visitor.post('/checkout').send({}));
    expect(checkout.ms).toBeLessThan(BOUND_MS);
    expect(checkout.value.body).toMatchObject({
      status: 'failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });
    expect(failures.map((failure) => failure.stage)).toEqual(['capture', 'conversion']);

    // Redis keeps nothing on disk here, so the visitor lands again after the restart.
    server = await startRedisServer(server.port);
    await client.ping();
    await visitor.get(`/?sovReqToken=${token}`).expect(200);
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({
      status: 'sent',
      token,
    });
  });
});
