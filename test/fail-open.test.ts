import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import request from 'supertest';
import { BullMQDeliveryQueue } from '../src/bullmq.js';
import { RedisTokenStore, type SovendusEvents, type TokenStore } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { keysUnder } from './support/redis.js';
import { hasRedisServer, startRedisServer, type RedisServer } from './support/redis-server.js';
import { API_KEY, createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

// The documented bound: a request waits for the store at most storeTimeoutMs. These tests
// prove it by state, not by the clock: the store never answers (or Redis stays down, with a
// client that waits for it forever), so a request that is answered at all was answered by the
// bound. How long that takes is measured by `npm run chaos`.
// Long enough that a busy machine never misses it against a Redis that answers.
const STORE_TIMEOUT_MS = 1_000;

let api: FakeSovendusApi;
beforeAll(async () => {
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(() => api.close());

function shopOn(client: Redis, prefix = `sovendus-fail-open:${process.pid}:`) {
  const shop = createShop({
    store: new RedisTokenStore({ client, prefix }),
    apiBaseUrl: api.url,
    storeTimeoutMs: STORE_TIMEOUT_MS,
    // Sovendus' answers are not what these tests are about: never stop waiting for one.
    timeoutMs: 30_000,
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
    const response = await request(app).get(`/landing?sovReqToken=${freshTestToken()}`);
    expect(response.status).toBe(200);
    expect(response.text).toBe('shop page');
    expect(failures[0]).toMatchObject({ stage: 'capture', error: { code: 'STORE_UNAVAILABLE' } });
  });

  it('answers the checkout within the bound with a typed, retryable failure', async () => {
    const { app } = shopOn(client);
    const response = await request(app).post('/checkout').send({});
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
    const result = await sovendus.redeemCoupon({ couponCode: 'DURING-OUTAGE', orderId: 'o-1' });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    expect(api.calls).toHaveLength(0);
  });
});

describe('a custom store that throws instead of rejecting', () => {
  /** Every call throws before it returns a promise, as a hand-written store's bug would. */
  const throwing = (): never => {
    throw new Error('store bug');
  };
  const store: TokenStore = {
    saveToken: throwing,
    getToken: throwing,
    acquireClaims: throwing,
    completeClaims: throwing,
    releaseClaims: throwing,
  };

  it('fails open like a store that rejects: the page is served, the checkout fails typed', async () => {
    const { app, sovendus } = createShop({ store, apiBaseUrl: api.url });
    const failures: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => failures.push(event));
    const visitor = request.agent(app);

    await visitor.get(`/landing?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
    const checkout = await visitor.post('/checkout').send({});
    expect(checkout.body).toMatchObject({ status: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    expect(failures.map(({ stage, error }) => [stage, error.code])).toEqual([
      ['capture', 'STORE_UNAVAILABLE'],
      ['conversion', 'STORE_UNAVAILABLE'],
    ]);
    expect(api.calls).toHaveLength(0);
  });
});

(hasRedisServer ? describe : describe.skip)('a real Redis that dies and comes back', () => {
  let server: RedisServer;
  let client: Redis;

  beforeAll(async () => {
    server = await startRedisServer();
    // Commands wait while Redis is down, however long: only the bound can answer a request.
    client = new Redis(server.url, { retryStrategy: () => 100, maxRetriesPerRequest: null });
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
    // Answered while Redis is still down: the bound did it.
    const landing = await visitor.get(`/?sovReqToken=${freshTestToken()}`);
    expect(landing.status).toBe(200);
    const checkout = await visitor.post('/checkout').send({});
    expect(checkout.body).toMatchObject({
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

(hasRedisServer ? describe : describe.skip)('a Redis outage in the middle of a delivery', () => {
  const prefix = `sovendus-mid-delivery:${process.pid}:`;
  let directory: string;
  let server: RedisServer;
  let client: Redis;
  // An append-only file synced on every write, so a killed Redis comes back with its claims.
  const persistent = () => ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', directory];

  beforeEach(async () => {
    directory = mkdtempSync(join(tmpdir(), 'sovendus-mid-delivery-'));
    server = await startRedisServer(undefined, persistent());
    // Without an offline queue, a command sent while Redis is down fails at once and is never
    // replayed: only the package's own retries can record what it sent.
    client = new Redis(server.url, { enableOfflineQueue: false, retryStrategy: () => 50 });
    await new Promise((ready) => client.once('ready', ready));
    api.reset();
  });
  afterEach(async () => {
    client.disconnect();
    await server.kill();
    rmSync(directory, { recursive: true, force: true });
  });

  /** Writes (and scripts) wait for `ms`: a claim sent meanwhile misses its deadline, then is answered. */
  async function pauseWrites(ms: number): Promise<void> {
    const admin = new Redis(server.url);
    await admin.client('PAUSE', ms, 'WRITE');
    admin.disconnect();
  }

  /** A shop with a queue on this Redis, and a visitor who landed with a token. */
  async function landedWithQueue() {
    const queue = new BullMQDeliveryQueue({
      connection: { host: '127.0.0.1', port: server.port, maxRetriesPerRequest: null },
      prefix: `${prefix}bull`,
      firstRetryDelayMs: 20,
    });
    const { app, sovendus } = createShop({
      store: new RedisTokenStore({ client, prefix }),
      apiBaseUrl: api.url,
      storeTimeoutMs: STORE_TIMEOUT_MS,
      queue,
    });
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}`).expect(200);
    const sent = new Promise((resolve) => sovendus.on('sent', resolve));
    return { visitor, token, sent, sovendus };
  }

  async function claimValues(): Promise<(string | null)[]> {
    const keys = await keysUnder(client, `${prefix}claim:`);
    return keys.length > 0 ? client.mget(...keys) : [];
  }

  it('records a conversion that Sovendus accepted while Redis was down, once Redis is back', async () => {
    const { sovendus } = shopOn(client, prefix);
    let answer: () => void = () => undefined;
    api.enqueue({ status: 200, until: new Promise<void>((resolve) => (answer = resolve)) });
    const sending = sovendus.sendConversion({ token: freshTestToken(), orderId: 'order-1' });
    while (api.calls.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await server.kill(); // Redis dies while Sovendus answers
    answer();
    expect(await sending).toMatchObject({ status: 'sent' });

    server = await startRedisServer(server.port, persistent());
    let values = await claimValues().catch(() => []);
    // Waits for the state, as long as the lease would let the record be retried.
    for (let waited = 0; waited < 40_000 && values.join() !== 'sent,sent'; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      values = await claimValues().catch(() => []);
    }
    // Both claims (token and order) say "sent": no queued retry can send it again once their
    // leases would have run out.
    expect(values).toEqual(['sent', 'sent']);
    expect(api.conversions).toHaveLength(1);
    await sovendus.close();
  });

  // A checkout claims the session's token; sendConversion claims the token it is given.
  it.each(['checkout', 'sendConversion'])(
    'gives back a claim answered after its deadline, so the next try sends (%s)',
    async (path) => {
      const { app, sovendus } = shopOn(client, prefix);
      const visitor = request.agent(app);
      const token = freshTestToken();
      await visitor.get(`/?sovReqToken=${token}`).expect(200);
      const convert = async () =>
        path === 'checkout'
          ? ((await visitor.post('/checkout').send({})).body as unknown)
          : sovendus.sendConversion({ token });
      await pauseWrites(3_000); // the claim misses its deadline, then is answered
      expect(await convert()).toMatchObject({
        status: 'failed',
        error: { code: 'STORE_UNAVAILABLE' },
      });
      // Idle: the late reply has come and its claim been given back (close() waits for that, and
      // leaves an instance without a queue usable).
      await sovendus.close({ timeoutMs: 20_000 });

      expect(await convert()).toMatchObject({ status: 'sent', token });
      expect(api.conversions).toHaveLength(1);
    },
  );

  it('queues a checkout whose claim was answered after its deadline, and its worker sends it', async () => {
    const { visitor, token, sent, sovendus } = await landedWithQueue();
    await pauseWrites(3_000);
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({
      status: 'failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });

    expect(await sent).toMatchObject({ token });
    expect(api.conversions).toHaveLength(1);
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    await sovendus.close();
  });

  it('looks again, off the request, for a checkout that could not reach Redis, and queues it', async () => {
    const { visitor, token, sent, sovendus } = await landedWithQueue();
    await server.kill(); // the store's client refuses commands at once while Redis is away
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({
      status: 'failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });
    server = await startRedisServer(server.port, persistent());

    // Nobody checks out again: the package itself finds the token once Redis is back.
    expect(await sent).toMatchObject({ token });
    expect(api.conversions).toHaveLength(1);
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    await sovendus.close();
  });
});
