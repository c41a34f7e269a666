import express from 'express';
import request from 'supertest';
import { createSovendus, RedisTokenStore } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, keysUnder, type TestRedis } from './support/redis.js';
import {
  API_KEY,
  createShop,
  describeResult,
  freshTestToken,
  PRODUCT_ID,
  type ShopOptions,
} from './support/shop.js';

let redis: TestRedis;
let api: FakeSovendusApi;

beforeAll(async () => {
  redis = connectTestRedis();
  api = await startFakeSovendusApi({ apiKey: API_KEY, productIds: [PRODUCT_ID] });
});
afterAll(async () => {
  await api.close();
  await redis.close();
});
beforeEach(() => {
  api.reset();
});

// A generous wait: these tests are about outcomes, and a busy machine must not turn a slow
// answer into a "the call goes on" result. Waiting costs nothing when the answer is quick.
function shop(options: ShopOptions = {}) {
  return createShop({
    store: redis.store,
    apiBaseUrl: api.url,
    timeoutMs: 10_000,
    retry: { attempts: 2, minDelayMs: 5, maxDelayMs: 20 },
    ...options,
  });
}

async function landedVisitor(app: ReturnType<typeof shop>['app'], token: string) {
  const visitor = request.agent(app);
  await visitor.get(`/landing?sovReqToken=${token}`).expect(200);
  return visitor;
}

describe('convert() on the checkout route', () => {
  it("sends the landed visitor's conversion once, then deletes the token", async () => {
    const { app } = shop();
    const token = freshTestToken();
    const visitor = await landedVisitor(app, token);
    const checkout = await visitor.post('/checkout').send({ orderId: 'order-1' }).expect(200);
    expect(checkout.body).toEqual({
      status: 'sent',
      token,
      productId: PRODUCT_ID,
      orderId: 'order-1',
      attempts: 1,
    });
    expect(api.conversions.map((call) => call.token)).toEqual([token]);
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    expect((await visitor.post('/checkout').send({})).body).toEqual({ status: 'no_token' });
    expect(api.calls).toHaveLength(1);
  });

  it('answers no_token, without calling Sovendus, for a visitor who did not land with a token', async () => {
    const { app } = shop();
    expect((await request(app).post('/checkout').send({})).body).toEqual({ status: 'no_token' });
    expect(api.calls).toHaveLength(0);
  });

  it("keeps the token after a 422, with the typed error and Sovendus' message", async () => {
    const { app } = shop();
    const visitor = await landedVisitor(app, '99999-test-99-99999');
    const { body } = await visitor.post('/checkout').send({});
    expect(body).toMatchObject({
      status: 'failed',
      attempts: 1,
      error: { code: 'INVALID_PARAMETERS', status: 422 },
    });
    expect(body.error.message).toContain('Invalid API parameters.');
    expect((await visitor.get('/token')).body).toEqual({ token: '99999-test-99-99999' });
  });

  it('keeps the token when Sovendus is down, and converts it on the next checkout', async () => {
    const { app } = shop();
    const token = freshTestToken();
    const visitor = await landedVisitor(app, token);
    api.enqueue({ status: 503 }, { status: 500 });
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: { code: 'UNAVAILABLE' },
    });
    expect((await visitor.get('/token')).body).toEqual({ token });
    expect((await visitor.post('/checkout').send({})).body).toMatchObject({ status: 'sent' });
  });

  it('lets a shop call req.sovendus.complete() itself', async () => {
    const { app } = shop();
    const visitor = await landedVisitor(app, freshTestToken());
    expect((await visitor.post('/complete').send({ orderId: 'o-2' })).body).toMatchObject({
      status: 'sent',
      orderId: 'o-2',
    });
  });
});

describe('exactly once', () => {
  it('sends one conversion for ten concurrent checkouts of one session', async () => {
    const { app } = shop();
    const visitor = await landedVisitor(app, '22222-test-222-22222');
    const results = await Promise.all(
      Array.from({ length: 10 }, () => visitor.post('/checkout').send({ orderId: 'double-click' })),
    );
    // Counted by senders: one call, one sent. The others met the claim (duplicate) or, once
    // the token was used up, found none (no_token); which, depends on the machine's speed.
    const statuses = results.map((result) => (result.body as { status: string }).status);
    expect(statuses.filter((status) => status === 'sent')).toHaveLength(1);
    expect(
      statuses.filter((status) => !['sent', 'duplicate', 'no_token'].includes(status)),
    ).toEqual([]);
    expect(api.calls).toHaveLength(1);
  });

  it('sends one conversion per order id, even from two sessions with different tokens', async () => {
    const { app } = shop();
    const first = await landedVisitor(app, '33333-test-333-33333');
    const second = await landedVisitor(app, '44444-test-444-44444');
    expect((await first.post('/checkout').send({ orderId: 'shared' })).body.status).toBe('sent');
    expect((await second.post('/checkout').send({ orderId: 'shared' })).body.status).toBe(
      'duplicate',
    );
    expect(api.calls).toHaveLength(1);
    // The second visitor's token was not spent: it can still convert with its own order.
    expect((await second.post('/checkout').send({ orderId: 'own' })).body.status).toBe('sent');
  });

  it('sends one conversion when several app instances race for the same token', async () => {
    // Each instance has its own connection, as separate processes would.
    const clients = Array.from({ length: 4 }, () => redis.client.duplicate());
    const instances = clients.map((client) =>
      createSovendus({
        productId: PRODUCT_ID,
        apiKey: API_KEY,
        apiBaseUrl: api.url,
        store: new RedisTokenStore({ client, prefix: redis.prefix }),
      }),
    );
    api.enqueue({ status: 200, delayMs: 50 });
    const results = await Promise.all(
      instances.map((instance) => instance.sendConversion({ token: '55555-test-555-55555' })),
    );
    clients.forEach((client) => {
      client.disconnect();
    });
    expect(results.map((result) => result.status).sort()).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'sent',
    ]);
    expect(api.calls).toHaveLength(1);
  });

  it('keeps a newer token that arrives while the older one is being sent', async () => {
    const { app } = shop();
    const visitor = await landedVisitor(app, '66666-test-666-66666');
    let answer: () => void = () => undefined;
    api.enqueue({ status: 200, until: new Promise<void>((resolve) => (answer = resolve)) });
    const checkout = visitor
      .post('/checkout')
      .send({})
      .then((response) => response.body as unknown);
    while (api.calls.length === 0) await new Promise((resolve) => setImmediate(resolve));
    // The call is out, its answer held back: the visitor clicks a newer Sovendus link.
    await visitor.get('/?sovReqToken=77777-test-777-77777').expect(200);
    answer();
    expect(await checkout).toMatchObject({ status: 'sent', token: '66666-test-666-66666' });
    expect((await visitor.get('/token')).body).toEqual({ token: '77777-test-777-77777' });
  });

  it('leaves only the records of sent conversions in Redis, each with a TTL', async () => {
    const { app } = shop();
    const visitor = await landedVisitor(app, '88888-test-888-88888');
    await visitor.post('/checkout').send({ orderId: 'ttl-check' });
    const keys = await keysUnder(redis.client, `${redis.prefix}claim:`);
    const ours = keys.filter((key) => key.includes('88888-test') || key.endsWith('ttl-check'));
    expect(ours).toHaveLength(2);
    for (const key of ours) {
      expect(await redis.client.get(key)).toBe('sent');
      expect(await redis.client.ttl(key)).toBeGreaterThan(0);
    }
  });
});

describe('setup mistakes at checkout', () => {
  it('answers failed with INVALID_CONFIG, and emits it, when there is no session middleware', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
    });
    const failures: string[] = [];
    sovendus.on('failed', (event) => failures.push(event.error.code));
    const app = express();
    app.post('/checkout', sovendus.convert(), (_req, res) => {
      res.json(describeResult(res.locals.sovendus));
    });
    const { body } = await request(app).post('/checkout').expect(200);
    expect(body).toMatchObject({ status: 'failed', error: { code: 'INVALID_CONFIG' } });
    expect(body.error.message).toContain('add express-session');
    expect(failures).toEqual(['INVALID_CONFIG']);
  });
});

describe('close()', () => {
  it('waits for the conversions in flight', async () => {
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: API_KEY,
      apiBaseUrl: api.url,
    });
    api.enqueue({ status: 200, delayMs: 100 });
    let settled = false;
    void sovendus.sendConversion({ token: freshTestToken() }).then(() => {
      settled = true;
    });
    await sovendus.close();
    expect(settled).toBe(true);
    expect(api.conversions).toHaveLength(1);
  });
});
