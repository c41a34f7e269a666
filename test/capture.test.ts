import express, { type ErrorRequestHandler } from 'express';
import request from 'supertest';
import { createSovendus, type SovendusEvents } from '../src/index.js';
import { CountingStore } from './support/counting-store.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { createShop, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

describe('capture', () => {
  it('stores the token on any method and path, and the newest click wins', async () => {
    const { app } = createShop({ store: redis.store });
    const visitor = request.agent(app);
    await visitor.get(`/landing?sovReqToken=${TEST_TOKEN}`).expect(200, 'shop page');
    expect((await visitor.get('/token')).body).toEqual({ token: TEST_TOKEN });

    await visitor.post('/deep/path/form?x=1&sovReqToken=11111-test-111-11111').expect(200);
    expect((await visitor.get('/token')).body).toEqual({ token: '11111-test-111-11111' });
  });

  it('keeps the session of a visitor who landed, even with saveUninitialized: false', async () => {
    const { app } = createShop({ store: redis.store, saveUninitialized: false });
    const landing = await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).expect(200);
    const cookie = landing.headers['set-cookie'];
    expect(cookie).toBeDefined();
    const later = await request(app)
      .get('/token')
      .set('Cookie', cookie as unknown as string[]);
    expect(later.body).toEqual({ token: TEST_TOKEN });
  });

  it('stores under the session key, with the product id and the 30-day TTL', async () => {
    const { app } = createShop({ store: redis.store });
    const landing = await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).expect(200);
    // express-session's cookie is "connect.sid=s:<session id>.<signature>".
    const cookie = decodeURIComponent(String(landing.headers['set-cookie']));
    const sessionId = /connect\.sid=s:([^.;]+)\./.exec(cookie)?.[1];
    const key = `${redis.prefix}token:${sessionId}`;
    // [token, productId, capturedAt]: an array, the fewest bytes a landing keeps.
    expect(JSON.parse((await redis.client.get(key))!)).toEqual([
      TEST_TOKEN,
      PRODUCT_ID,
      expect.any(Number),
    ]);
    expect(await redis.client.ttl(key)).toBeGreaterThan(2_592_000 - 10);
  });

  it('makes no store call, and sets no cookie, on requests without the parameter', async () => {
    const store = new CountingStore();
    const { app } = createShop({ store });
    const response = await request(app).get('/products?page=2&sovReq=1').expect(200);
    expect(response.headers['set-cookie']).toBeUndefined();
    expect(store.calls).toBe(0);
  });

  it.each([
    '/?sovReqToken=a&sovReqToken=b',
    '/?sovReqToken[x]=1',
    '/?sovReqToken=undefined',
    '/?sovReqToken=..%2F..%2Fadmin',
    '/?sovReqToken=%ZZ',
  ])('serves %s normally, stores nothing and emits "rejected"', async (url) => {
    const store = new CountingStore();
    const { app, sovendus } = createShop({ store });
    const rejected: SovendusEvents['rejected'][] = [];
    sovendus.on('rejected', (event) => rejected.push(event));
    await request(app).get(url).expect(200, 'shop page');
    expect(store.calls).toBe(0);
    expect(rejected).toHaveLength(1);
  });

  it('keeps the existing token when a later request carries an invalid one', async () => {
    const { app } = createShop({ store: redis.store });
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${TEST_TOKEN}`);
    await visitor.get('/?sovReqToken=null');
    expect((await visitor.get('/token')).body).toEqual({ token: TEST_TOKEN });
  });

  it('reads a renamed parameter', async () => {
    const { app } = createShop({ store: redis.store, queryParam: 'sovToken' });
    const visitor = request.agent(app);
    await visitor.get(`/?sovToken=${TEST_TOKEN}`);
    expect((await visitor.get('/token')).body).toEqual({ token: TEST_TOKEN });
  });

  it('stores the product id chosen by productId(req) on the landing request', async () => {
    const german = '11111111-2222-4333-8444-555555555555';
    const events: SovendusEvents['captured'][] = [];
    const { app, sovendus } = createShop({
      store: redis.store,
      productId: (req) => (req.url?.startsWith('/de/') ? german : PRODUCT_ID),
    });
    sovendus.on('captured', (event) => events.push(event));
    await request(app).get(`/de/landing?sovReqToken=${TEST_TOKEN}`).expect(200);
    expect(events).toEqual([{ token: TEST_TOKEN, productId: german }]);
  });

  it('fails open when productId(req) returns garbage: the page is served, "failed" is emitted', async () => {
    const failures: SovendusEvents['failed'][] = [];
    const { app, sovendus } = createShop({ store: redis.store, productId: () => 'nope' });
    sovendus.on('failed', (event) => failures.push(event));
    await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).expect(200, 'shop page');
    expect(failures[0]).toMatchObject({ stage: 'capture', error: { code: 'INVALID_CONFIG' } });
  });

  it('uses getSessionKey for other session libraries, and skips requests it returns undefined for', async () => {
    const store = new CountingStore();
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: 'key',
      store,
      getSessionKey: (req) => {
        const header = req.headers['x-visitor'];
        return typeof header === 'string' ? header : undefined;
      },
    });
    const app = express();
    app.use(sovendus.capture());
    app.get('/token', async (req, res) => {
      res.json({ token: (await req.sovendus.getToken()) ?? null });
    });
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).set('x-visitor', 'v1').expect(200);
    await request(app).get('/?sovReqToken=11111-test-111-11111').expect(200);
    expect((await request(app).get('/token').set('x-visitor', 'v1')).body).toEqual({
      token: TEST_TOKEN,
    });
    expect(store.calls).toBe(2);
  });

  it('serves the page, and says once what is missing, when there is no session middleware', async () => {
    const errors: string[] = [];
    const sovendus = createSovendus({
      productId: PRODUCT_ID,
      apiKey: 'key',
      logger: { error: (_fields: object, message: string) => errors.push(message) },
    });
    const failures: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => failures.push(event));
    const app = express();
    app.use(sovendus.capture());
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    let seen: unknown;
    const onError: ErrorRequestHandler = (error, _req, res, _next) => {
      seen = error;
      res.status(500).send('error');
    };
    app.use(onError);
    await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).expect(200, 'ok');
    await request(app).get(`/?sovReqToken=${TEST_TOKEN}`).expect(200, 'ok');
    expect(seen).toBeUndefined();
    expect(failures).toMatchObject([
      { stage: 'capture', error: { code: 'INVALID_CONFIG' } },
      { stage: 'capture', error: { code: 'INVALID_CONFIG' } },
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('add express-session');
    await request(app).get('/').expect(200, 'ok');
  });
});
