import request from 'supertest';
import { MemoryTokenStore, type StoredToken, type TokenStore } from '../src/index.js';
import { connectTestRedis, keysUnder, type TestRedis } from './support/redis.js';
import { createShop, freshTestToken, type ShopOptions } from './support/shop.js';

/*
 * `req.sovendus.forget()`: for a visitor who withdraws consent or asks to be forgotten. It
 * deletes the session's token and expires the browser script's cookie, and never rejects.
 */

const EXPIRED = 'sovReqToken=; Max-Age=0; Path=/; Domain=shop.example; Secure; SameSite=Strict';
const EXPIRED_CODE =
  'sovCouponCode=; Max-Age=0; Path=/; Domain=shop.example; Secure; SameSite=Strict';

let redis: TestRedis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(() => redis.close());

const setCookies = (response: request.Response): string[] =>
  (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];

async function landAndForget(options: ShopOptions) {
  const { app } = createShop(options);
  const visitor = request.agent(app);
  await visitor.get(`/?sovReqToken=${freshTestToken()}`).set('Host', 'shop.example');
  const forgotten = await visitor.post('/forget').set('Host', 'shop.example').expect(200);
  const after = (await visitor.get('/token')).body as unknown;
  return { forgotten, after };
}

/** A store of the contract's required methods only: no deleteToken. */
function storeWithoutDelete(): TokenStore {
  const memory = new MemoryTokenStore();
  return {
    saveToken: (key: string, entry: StoredToken, ttl: number) => memory.saveToken(key, entry, ttl),
    getToken: (key: string) => memory.getToken(key),
    acquireClaims: (...args) => memory.acquireClaims(...args),
    completeClaims: (...args) => memory.completeClaims(...args),
    releaseClaims: (...args) => memory.releaseClaims(...args),
  };
}

describe('forget()', () => {
  it('deletes the token from Redis, and expires the cookie', async () => {
    const { forgotten, after } = await landAndForget({ store: redis.store });
    expect(after).toEqual({ token: null });
    expect(await keysUnder(redis.client, `${redis.prefix}token:`)).toEqual([]);
    expect(setCookies(forgotten)).toContain(EXPIRED);
  });

  it('deletes the voucher code from Redis too, and expires both cookies', async () => {
    const { app } = createShop({ store: redis.store, coupons: { trafficSourceNumber: 1234 } });
    const visitor = request.agent(app);
    await visitor
      .get(`/?sovReqToken=${freshTestToken()}&sovCouponCode=FORGET-ME`)
      .set('Host', 'shop.example');
    expect((await visitor.get('/coupon')).body).toEqual({ couponCode: 'FORGET-ME' });
    const forgotten = await visitor.post('/forget').set('Host', 'shop.example').expect(200);
    expect((await visitor.get('/coupon')).body).toEqual({ couponCode: null });
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    expect(await keysUnder(redis.client, `${redis.prefix}coupon:`)).toEqual([]);
    expect(setCookies(forgotten)).toEqual(expect.arrayContaining([EXPIRED, EXPIRED_CODE]));
  });

  it('deletes the voucher code of a visitor who came by a voucher link alone', async () => {
    const { app } = createShop({
      store: new MemoryTokenStore(),
      coupons: { trafficSourceNumber: 1234 },
    });
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=LINK-ONLY').expect(200);
    await visitor.post('/forget').expect(200, 'forgotten');
    expect((await visitor.get('/coupon')).body).toEqual({ couponCode: null });
  });

  it('resolves when deleting the voucher code fails, and still deletes the token', async () => {
    const failing = new MemoryTokenStore();
    failing.deleteCouponCode = () => Promise.reject(new Error('Redis is down'));
    const warnings: string[] = [];
    const { app } = createShop({
      store: failing,
      coupons: { trafficSourceNumber: 1234 },
      logger: { warn: (_fields, message) => message.includes('forget') && warnings.push(message) },
    });
    const visitor = request.agent(app);
    await visitor.get(`/?sovReqToken=${freshTestToken()}&sovCouponCode=STAYS`).expect(200);
    await visitor.post('/forget').expect(200, 'forgotten');
    expect((await visitor.get('/token')).body).toEqual({ token: null });
    expect(warnings).toEqual([expect.stringContaining('voucher code') as string]);
  });

  it('deletes the token from the memory store', async () => {
    const { after } = await landAndForget({ store: new MemoryTokenStore() });
    expect(after).toEqual({ token: null });
  });

  it('with a store that has no deleteToken, logs and resolves; the cookie is expired', async () => {
    const warnings: string[] = [];
    const { forgotten, after } = await landAndForget({
      store: storeWithoutDelete(),
      logger: { warn: (_fields, message) => message.includes('forget') && warnings.push(message) },
    });
    expect(forgotten.text).toBe('forgotten');
    expect(setCookies(forgotten)).toContain(EXPIRED);
    expect(after).not.toEqual({ token: null });
    expect(warnings).toEqual([expect.stringContaining('deleteToken') as string]);
  });

  it('resolves when the store fails', async () => {
    const failing = new MemoryTokenStore();
    failing.deleteToken = () => Promise.reject(new Error('Redis is down'));
    const warnings: string[] = [];
    const { forgotten } = await landAndForget({
      store: failing,
      logger: { warn: (_fields, message) => message.includes('forget') && warnings.push(message) },
    });
    expect(forgotten.text).toBe('forgotten');
    expect(warnings).toHaveLength(1);
  });

  it('resolves for a visitor without a session, and leaves cookies alone with browserCookie: false', async () => {
    const { app } = createShop({ store: redis.store, browserCookie: false });
    const response = await request(app).post('/forget').set('Host', 'shop.example').expect(200);
    expect(response.text).toBe('forgotten');
    expect(setCookies(response)).not.toContain(EXPIRED);
  });
});
