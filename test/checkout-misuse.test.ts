import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { createSovendus, type Sovendus, type SovendusEvents } from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { API_KEY, describeResult, freshTestToken, PRODUCT_ID } from './support/shop.js';

// What a JavaScript shop can get wrong at checkout, and what it gets back: a typed `failed`
// result, never a throw, a rejection, or a handler that runs without `res.locals.sovendus`.

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

const opened: Sovendus[] = [];
afterEach(() => Promise.all(opened.splice(0).map((instance) => instance.close())));

/**
 * A shop whose `/complete` route calls `req.sovendus.complete()` with the JSON body's `options`
 * as they came.
 */
function shopWith() {
  const sovendus = createSovendus({
    productId: PRODUCT_ID,
    apiKey: API_KEY,
    apiBaseUrl: api.url,
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: api.url },
    store: redis.store,
    storeTimeoutMs: 10_000,
    timeoutMs: 10_000,
  });
  opened.push(sovendus);
  const failures: SovendusEvents['failed'][] = [];
  sovendus.on('failed', (event) => failures.push(event));
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
  app.use(sovendus.capture());
  app.post('/complete', async (req, res) => {
    const { options } = req.body as { options: unknown };
    res.json(describeResult(await req.sovendus.complete(options as never)));
  });
  app.get('/token', async (req, res) => {
    res.json({ token: (await req.sovendus.getToken()) ?? null });
  });
  app.use((_req, res) => res.send('shop page'));
  return { app, sovendus, failures };
}

async function landed(app: express.Express) {
  const token = freshTestToken();
  const visitor = request.agent(app);
  await visitor.get(`/?sovReqToken=${token}`).expect(200, 'shop page');
  return { visitor, token };
}

describe('req.sovendus.complete() called with what is not an options object', () => {
  it.each([
    ['null', null],
    ['a number', 5],
    ['a bare order id', 'order-1'],
  ])('%s resolves failed INVALID_INPUT, and sends nothing', async (_, options) => {
    const { app, failures } = shopWith();
    const { visitor, token } = await landed(app);
    const { body } = await visitor.post('/complete').send({ options }).expect(200);
    expect(body).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } });
    expect(body.error.message).toContain('{ orderId }');
    expect(failures.map(({ error }) => error.code)).toEqual(['INVALID_INPUT']);
    expect(api.calls).toHaveLength(0);
    expect((await visitor.get('/token')).body).toEqual({ token });
  });
});

describe('sendConversion and redeemCoupon called without their options', () => {
  it.each([undefined, null])(
    'sendConversion(%p) neither throws nor rejects: failed INVALID_TOKEN',
    async (options) => {
      const { sovendus } = shopWith();
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = sovendus.sendConversion(options as never);
      }).not.toThrow();
      expect(await pending).toMatchObject({
        status: 'failed',
        attempts: 0,
        error: { code: 'INVALID_TOKEN' },
      });
      expect(api.calls).toHaveLength(0);
    },
  );

  it.each([undefined, null])(
    'redeemCoupon(%p) neither throws nor rejects: failed INVALID_INPUT',
    async (options) => {
      const { sovendus } = shopWith();
      let pending: Promise<unknown> | undefined;
      expect(() => {
        pending = sovendus.redeemCoupon(options as never);
      }).not.toThrow();
      expect(await pending).toMatchObject({
        status: 'failed',
        attempts: 0,
        error: { code: 'INVALID_INPUT' },
      });
      expect(api.calls).toHaveLength(0);
    },
  );
});
