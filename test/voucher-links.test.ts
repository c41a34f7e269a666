import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { createSovendus, MemoryTokenStore, type SovendusEvents } from '../src/index.js';
import { CountingStore } from './support/counting-store.js';
import { connectTestRedis, keysUnder, type TestRedis } from './support/redis.js';
import { createShop, freshTestToken, type ShopOptions } from './support/shop.js';

/*
 * Voucher links: a Sovendus link may carry `sovCouponCode`, which the browser script keeps as a
 * cookie of the same name. With the `coupons` option, capture keeps it for the session (same
 * store, same TTL, same rule as redeemCoupon's couponCode), and req.sovendus.getCouponCode()
 * reads it back.
 */

const COUPONS = { trafficSourceNumber: 1234 };

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

/** The test shop with coupons on, and the `rejected` and `failed` events it emits. */
function shop(options: ShopOptions = {}) {
  const made = createShop({ store: redis.store, coupons: COUPONS, ...options });
  const rejected: string[] = [];
  const failed: SovendusEvents['failed'][] = [];
  made.sovendus.on('rejected', ({ reason }) => rejected.push(reason));
  made.sovendus.on('failed', (event) => failed.push(event));
  return { ...made, rejected, failed };
}

const codeOf = async (visitor: request.Agent) =>
  ((await visitor.get('/coupon').expect(200)).body as { couponCode: string | null }).couponCode;
const tokenOf = async (visitor: request.Agent) =>
  ((await visitor.get('/token').expect(200)).body as { token: string | null }).token;

describe('a voucher link', () => {
  it('is kept for the session without a token, which is saved as for a token', async () => {
    const { app } = shop();
    const landing = await request(app).get('/offer?sovCouponCode=SUMMER-10').expect(200);
    const cookie = landing.headers['set-cookie'] as unknown as string[] | undefined;
    expect(cookie).toBeDefined();
    const later = await request(app).get('/coupon').set('Cookie', cookie!).expect(200);
    expect(later.body).toEqual({ couponCode: 'SUMMER-10' });
  });

  it('is kept beside the token when the link carries both, and the newest link wins', async () => {
    const { app } = shop();
    const visitor = request.agent(app);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}&sovCouponCode=FIRST`).expect(200);
    expect(await tokenOf(visitor)).toBe(token);
    expect(await codeOf(visitor)).toBe('FIRST');
    await visitor.get('/?sovCouponCode=SECOND').expect(200);
    expect(await codeOf(visitor)).toBe('SECOND');
    expect(await tokenOf(visitor)).toBe(token);
  });

  it("is kept in the store, under the session's key, with the token's TTL", async () => {
    const { app } = shop({ ttlSeconds: 1_234 });
    const landing = await request(app).get('/?sovCouponCode=TTL-CHECK').expect(200);
    // express-session's cookie is "connect.sid=s:<session id>.<signature>".
    const cookie = decodeURIComponent(String(landing.headers['set-cookie']));
    const sessionId = /connect\.sid=s:([^.;]+)\./.exec(cookie)?.[1];
    const key = `${redis.prefix}coupon:${sessionId}`;
    expect(await keysUnder(redis.client, key)).toEqual([key]);
    expect(await redis.client.get(key)).toBe('TTL-CHECK');
    const ttl = await redis.client.ttl(key);
    expect(ttl).toBeGreaterThan(1_000);
    expect(ttl).toBeLessThanOrEqual(1_234);
  });

  it("is checked as redeemCoupon's couponCode is: trimmed and percent-decoded", async () => {
    const { app, rejected } = shop();
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=%20WIN%2FTER-5%20').expect(200);
    expect(await codeOf(visitor)).toBe('WIN/TER-5');
    expect(rejected).toEqual([]);
  });

  it.each([
    ['repeated', '/?sovCouponCode=A-1&sovCouponCode=B-2', 'repeated'],
    ['nested', '/?sovCouponCode[x]=A-1', 'nested'],
    ['huge', `/?sovCouponCode=${'A'.repeat(5_000)}`, 'printable ASCII'],
    ['badly percent-encoded', '/?sovCouponCode=A-%ZZ', 'percent-encoding'],
    ['two words', '/?sovCouponCode=TWO+WORDS', 'without spaces'],
    ['empty', '/?sovCouponCode=', 'required'],
    ['not ASCII', '/?sovCouponCode=%C3%BC', 'printable ASCII'],
  ])('when %s, is rejected: the page is served, nothing is stored', async (_shape, url, reason) => {
    const store = new CountingStore();
    const { app, rejected } = shop({ store });
    await request(app).get(url).expect(200, 'shop page');
    expect(store.calls).toBe(0);
    expect(rejected).toEqual([expect.stringContaining(reason) as string]);
    expect(rejected[0]).toContain('sovCouponCode');
  });

  it('that is invalid leaves the token of the same link, and an earlier code, kept', async () => {
    const { app, rejected } = shop();
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=EARLIER').expect(200);
    const token = freshTestToken();
    await visitor.get(`/?sovReqToken=${token}&sovCouponCode=TWO+WORDS`).expect(200);
    expect(await tokenOf(visitor)).toBe(token);
    expect(await codeOf(visitor)).toBe('EARLIER');
    expect(rejected).toHaveLength(1);
  });

  it('is not looked for without the coupons option: no store call', async () => {
    const store = new CountingStore();
    const { app } = shop({ store, coupons: undefined });
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=SUMMER-10').expect(200);
    expect(store.calls).toBe(0);
    expect(await codeOf(visitor)).toBeNull();
  });

  it('needs consent as a token does: with none, nothing is stored and "rejected" says why', async () => {
    const store = new CountingStore();
    const { app, rejected } = shop({ store, consent: () => false });
    await request(app).get(`/?sovCouponCode=SUMMER-10&sovReqToken=${freshTestToken()}`).expect(200);
    expect(store.calls).toBe(0);
    expect(rejected).toEqual([expect.stringContaining('no consent') as string]);
  });

  it('fails open when the store fails: the page is served, "failed" names the stage', async () => {
    const store = new MemoryTokenStore();
    store.saveCouponCode = () => Promise.reject(new Error('Redis is down'));
    const { app, failed } = shop({ store });
    await request(app).get('/?sovCouponCode=SUMMER-10').expect(200, 'shop page');
    expect(failed).toMatchObject([
      { stage: 'capture', couponCode: 'SUMMER-10', error: { code: 'STORE_UNAVAILABLE' } },
    ]);
  });
});

describe('the sovCouponCode cookie', () => {
  it('is kept when the query has no code, percent-decoded as the script reads it', async () => {
    const { app } = shop();
    const visitor = request.agent(app);
    await visitor.get('/').set('Cookie', 'a=1; sovCouponCode=AUTUMN%2D20').expect(200);
    expect(await codeOf(visitor)).toBe('AUTUMN-20');
  });

  it('loses to the query when both are there', async () => {
    const { app } = shop();
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=FROM-LINK').set('Cookie', 'sovCouponCode=FROM-COOKIE');
    expect(await codeOf(visitor)).toBe('FROM-LINK');
  });

  it('is read beside the token cookie, and once the session holds them, no longer', async () => {
    const store = new CountingStore();
    const { app } = shop({ store });
    const visitor = request.agent(app);
    const token = freshTestToken();
    const cookies = `sovReqToken=${token}; sovCouponCode=BOTH-1`;
    await visitor.get('/').set('Cookie', cookies).expect(200);
    expect(await tokenOf(visitor)).toBe(token);
    expect(await codeOf(visitor)).toBe('BOTH-1');
    const calls = store.calls;
    await visitor.get('/next').set('Cookie', 'sovCouponCode=LATER-2').expect(200);
    expect(store.calls).toBe(calls);
    expect(await codeOf(visitor)).toBe('BOTH-1');
  });

  it.each([
    ['repeated (one on another path)', 'sovCouponCode=PATH-A; sovCouponCode=PATH-B', 'repeated'],
    ['huge', `sovCouponCode=${'A'.repeat(8_000)}`, 'printable ASCII'],
    ['badly percent-encoded', 'sovCouponCode=A-%ZZ', 'percent-encoding'],
    ['two words', 'sovCouponCode=TWO%20WORDS', 'without spaces'],
  ])('when %s, is rejected: neither wins, nothing is stored', async (_shape, cookie, reason) => {
    const store = new CountingStore();
    const { app, rejected } = shop({ store });
    await request(app).get('/').set('Cookie', cookie).expect(200, 'shop page');
    expect(store.calls).toBe(0);
    expect(rejected).toEqual([expect.stringContaining(reason) as string]);
    expect(rejected[0]).toContain('sovCouponCode cookie');
  });

  it('is left alone with browserCookie: false', async () => {
    const store = new CountingStore();
    const { app } = shop({ store, browserCookie: false });
    await request(app).get('/').set('Cookie', 'sovCouponCode=SUMMER-10').expect(200);
    expect(store.calls).toBe(0);
  });

  it('costs no store call, and sets no cookie, when the Cookie header does not name it', async () => {
    const store = new CountingStore();
    const { app } = shop({ store });
    const cookie = 'sovCouponCodeX=A; xsovCouponCode=B; a=sovCouponCode; sov=1';
    const response = await request(app)
      .get('/?sovCouponCodes=1&sov=2')
      .set('Cookie', cookie)
      .expect(200);
    expect(store.calls).toBe(0);
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('with getSessionKey, is stored only while the session holds no code', async () => {
    const { app } = shop({
      store: new CountingStore(),
      getSessionKey: (req) => req.headers['x-visitor'] as string | undefined,
    });
    await request(app).get('/').set('x-visitor', 'v1').set('Cookie', 'sovCouponCode=FIRST');
    await request(app).get('/').set('x-visitor', 'v1').set('Cookie', 'sovCouponCode=SECOND');
    const read = await request(app).get('/coupon').set('x-visitor', 'v1');
    expect(read.body).toEqual({ couponCode: 'FIRST' });
  });
});

describe('a coupon-only shop', () => {
  /** No productId, no apiKey: capture() for voucher links alone (and no convert()). */
  function couponOnlyShop(store = new CountingStore()) {
    const sovendus = createSovendus({ coupons: COUPONS, store });
    const app = express();
    app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
    app.use(sovendus.capture());
    app.get('/coupon', async (req, res) => {
      res.json({ couponCode: (await req.sovendus.getCouponCode()) ?? null });
    });
    app.use((_req, res) => res.send('shop page'));
    return { app, store };
  }

  it('can mount capture() for its voucher links', async () => {
    const { app } = couponOnlyShop();
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=ONLY-CODES').expect(200);
    expect(await codeOf(visitor)).toBe('ONLY-CODES');
  });

  it('keeps no token: it has no conversions to send one to', async () => {
    const { app, store } = couponOnlyShop();
    await request(app)
      .get(`/?sovReqToken=${freshTestToken()}`)
      .set('Cookie', `sovReqToken=${freshTestToken()}`)
      .expect(200);
    expect(store.calls).toBe(0);
    expect(store.size).toBe(0);
  });
});

describe('req.sovendus.getCouponCode()', () => {
  it('resolves to undefined for a visitor who brought no code, and without coupons', async () => {
    expect(await codeOf(request.agent(shop().app))).toBeNull();
    const { app } = shop({ coupons: undefined });
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}`).expect(200);
    expect(await codeOf(visitor)).toBeNull();
  });

  it('never rejects: a store failure is undefined, logged and emitted as failed', async () => {
    const store = new MemoryTokenStore();
    const { app, failed } = shop({ store });
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=KEPT').expect(200);
    store.getCouponCode = () => Promise.reject(new Error('Redis is down'));
    expect(await codeOf(visitor)).toBeNull();
    expect(failed).toMatchObject([{ stage: 'redemption', error: { code: 'STORE_UNAVAILABLE' } }]);
  });

  it('never rejects without a session: undefined', async () => {
    const sovendus = createSovendus({
      productId: '9bc72425-902c-3abf-9db8-8b186d7cb160',
      apiKey: 'key',
      coupons: COUPONS,
    });
    const app = express();
    app.use(sovendus.capture());
    app.get('/coupon', async (req, res) => {
      res.json({ couponCode: (await req.sovendus.getCouponCode()) ?? null });
    });
    expect((await request(app).get('/coupon').expect(200)).body).toEqual({ couponCode: null });
  });
});
