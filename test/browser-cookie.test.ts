import express from 'express';
import request from 'supertest';
import { createSovendus, type SovendusEvents } from '../src/index.js';
import { CountingStore } from './support/counting-store.js';
import { connectTestRedis, type TestRedis } from './support/redis.js';
import { createShop, freshTestToken, TEST_TOKEN } from './support/shop.js';

/*
 * Sovendus' browser script keeps the landing URL's `sovReqToken` as a first-party cookie of the
 * same name (written raw, read back with decodeURIComponent). With `browserCookie` on (the
 * default), the capture reads it when the query has no token and the session holds none.
 */

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

describe('the sovReqToken cookie', () => {
  it('is captured like a query token when the query has none', async () => {
    const { app, sovendus } = createShop({ store: redis.store });
    const captured: SovendusEvents['captured'][] = [];
    sovendus.on('captured', (event) => captured.push(event));
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get('/products').set('Cookie', `other=1; sovReqToken=${token}`).expect(200);
    expect((await visitor.get('/token')).body).toEqual({ token });
    expect(captured).toMatchObject([{ token }]);
  });

  it('loses to the query token when both are there', async () => {
    const { app } = createShop({ store: redis.store });
    const visitor = request.agent(app);
    const fromQuery = freshTestToken();
    await visitor.get(`/?sovReqToken=${fromQuery}`).set('Cookie', `sovReqToken=${TEST_TOKEN}`);
    expect((await visitor.get('/token')).body).toEqual({ token: fromQuery });
  });

  it('is not read while the session holds a token: no store call on later pages', async () => {
    const store = new CountingStore();
    const { app } = createShop({ store });
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}`).expect(200);
    const calls = store.calls;
    await visitor.get('/next').set('Cookie', `sovReqToken=${freshTestToken()}`).expect(200);
    expect(store.calls).toBe(calls);
    expect((await visitor.get('/token')).body).toEqual({ token });
  });

  it('is read as the script wrote it: percent-decoded once', async () => {
    const { app } = createShop({ store: redis.store });
    const visitor = request.agent(app);
    await visitor.get('/').set('Cookie', 'sovReqToken=12345-test%2D123-12345').expect(200);
    expect((await visitor.get('/token')).body).toEqual({ token: TEST_TOKEN });
  });

  it('is left alone with browserCookie: false', async () => {
    const store = new CountingStore();
    const { app } = createShop({ store, browserCookie: false });
    await request(app).get('/').set('Cookie', `sovReqToken=${TEST_TOKEN}`).expect(200);
    expect(store.calls).toBe(0);
  });

  it('costs no store call when the Cookie header does not name it', async () => {
    const store = new CountingStore();
    const { app } = createShop({ store });
    const cookie = `sovReqTokenX=${TEST_TOKEN}; xsovReqToken=${TEST_TOKEN}; a=sovReqToken`;
    const response = await request(app).get('/').set('Cookie', cookie).expect(200);
    expect(store.calls).toBe(0);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it.each([
    ['repeated (another path set one too)', `sovReqToken=${TEST_TOKEN}; sovReqToken=${TEST_TOKEN}`],
    ['huge', `sovReqToken=${'a'.repeat(8000)}`],
    ['badly percent-encoded', 'sovReqToken=12345-test-123-%ZZ'],
    ['a placeholder', 'sovReqToken=undefined'],
    ['empty', 'sovReqToken='],
    ['a path', 'sovReqToken=..%2F..%2Fadmin'],
  ])('when %s, is rejected: the page is served, nothing stored', async (_shape, cookie) => {
    const store = new CountingStore();
    const { app, sovendus } = createShop({ store });
    const rejected: SovendusEvents['rejected'][] = [];
    sovendus.on('rejected', (event) => rejected.push(event));
    await request(app).get('/').set('Cookie', cookie).expect(200, 'shop page');
    expect(store.calls).toBe(0);
    expect(rejected).toHaveLength(1);
  });

  it('with getSessionKey, is stored only when the session holds no token yet', async () => {
    const store = new CountingStore();
    const sovendus = createSovendus({
      productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
      apiKey: 'key',
      store,
      getSessionKey: (req) => req.headers['x-visitor'] as string | undefined,
    });
    const app = express();
    app.use(sovendus.capture());
    app.get('/token', async (req, res) => {
      res.json({ token: (await req.sovendus.getToken()) ?? null });
    });
    app.get('/', (_req, res) => {
      res.send('ok');
    });
    const first = freshTestToken();
    await request(app).get('/').set('x-visitor', 'v1').set('Cookie', `sovReqToken=${first}`);
    await request(app)
      .get('/')
      .set('x-visitor', 'v1')
      .set('Cookie', `sovReqToken=${freshTestToken()}`);
    const read = await request(app).get('/token').set('x-visitor', 'v1');
    expect(read.body).toEqual({ token: first });
  });
});
