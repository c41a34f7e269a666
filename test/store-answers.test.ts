import request from 'supertest';
import type { SovendusEvents, TokenStore } from '../src/index.js';
import { useFakeApi } from './support/fixtures.js';
import { createShop, freshTestToken, PRODUCT_ID } from './support/shop.js';

// A custom TokenStore is the shop's code: a database client may answer `null` for "none", and
// a bug may answer anything. `null` is none; any other answer of the wrong shape is a store
// failure, and the shop fails open as with any store failure: the page is served, the checkout
// handler runs with a typed `failed` result, nothing is sent.

const fixture = useFakeApi({ redis: true });

/**
 * A custom store over the real Redis store, with `answers` in place of some of its methods.
 * Without `acquireSessionClaims` in `answers`, it has none: the package then reads the token
 * and claims it in two calls.
 */
function customStore(answers: Partial<Record<keyof TokenStore, () => unknown>>): TokenStore {
  const real = fixture.redis.store;
  return {
    saveToken: (...args) => real.saveToken(...args),
    getToken: (...args) => real.getToken(...args),
    acquireClaims: (...args) => real.acquireClaims(...args),
    completeClaims: (...args) => real.completeClaims(...args),
    releaseClaims: (...args) => real.releaseClaims(...args),
    ...answers,
  } as TokenStore;
}

/** A shop on `store`, a visitor who landed with a token, and the `failed` events it emits. */
async function landedOn(store: TokenStore) {
  const { app, sovendus } = createShop({ store, apiBaseUrl: fixture.api.url });
  const failures: SovendusEvents['failed'][] = [];
  sovendus.on('failed', (event) => failures.push(event));
  const visitor = request.agent(app);
  await visitor.get(`/landing?sovReqToken=${freshTestToken()}`).expect(200, 'shop page');
  return { visitor, sovendus, failures };
}

describe('a custom store that answers null for "none"', () => {
  it.each([
    ['getToken', { getToken: () => Promise.resolve(null) }],
    ['acquireSessionClaims', { acquireSessionClaims: () => Promise.resolve(null) }],
  ])('from %s: convert() answers no_token and the checkout handler runs', async (_, answers) => {
    const { visitor, failures } = await landedOn(customStore(answers));
    const checkout = await visitor.post('/checkout').send({ orderId: 'order-1' }).expect(200);
    expect(checkout.body).toEqual({ status: 'no_token' });
    expect(failures).toEqual([]);
    expect(fixture.api.calls).toHaveLength(0);
  });

  it('from getToken: req.sovendus.getToken() resolves to undefined', async () => {
    const { visitor, failures } = await landedOn(
      customStore({ getToken: () => Promise.resolve(null) }),
    );
    expect((await visitor.get('/token').expect(200)).body).toEqual({ token: null });
    expect(failures).toEqual([]);
  });
});

describe('a custom store that answers something of the wrong shape', () => {
  const entry = { token: freshTestToken(), productId: PRODUCT_ID, capturedAt: Date.now() };
  it.each([
    ['getToken', 'a string', { getToken: () => Promise.resolve('12345-test-123-12345') }],
    ['getToken', 'a number token', { getToken: () => Promise.resolve({ ...entry, token: 5 }) }],
    ['getToken', 'no productId', { getToken: () => Promise.resolve({ token: entry.token }) }],
    ['acquireClaims', 'null', { acquireClaims: () => Promise.resolve(null) }],
    ['acquireClaims', 'an unknown outcome', { acquireClaims: () => Promise.resolve('yes') }],
    [
      'acquireSessionClaims',
      'an empty object',
      { acquireSessionClaims: () => Promise.resolve({}) },
    ],
    [
      'acquireSessionClaims',
      'a malformed entry',
      { acquireSessionClaims: () => Promise.resolve({ entry: { token: 1 }, claim: 'acquired' }) },
    ],
    [
      'acquireSessionClaims',
      'an unknown outcome',
      { acquireSessionClaims: () => Promise.resolve({ entry, claim: 'yes' }) },
    ],
  ])('from %s (%s): convert() fails open with STORE_UNAVAILABLE', async (_, _shape, answers) => {
    const { visitor, failures } = await landedOn(customStore(answers));
    const checkout = await visitor.post('/checkout').send({ orderId: 'order-1' }).expect(200);
    expect(checkout.body).toMatchObject({
      status: 'failed',
      attempts: 0,
      error: { code: 'STORE_UNAVAILABLE' },
    });
    expect(failures.map(({ stage, error }) => [stage, error.code])).toEqual([
      ['conversion', 'STORE_UNAVAILABLE'],
    ]);
    expect(fixture.api.calls).toHaveLength(0);
  });

  it('from getToken: req.sovendus.getToken() resolves to undefined and emits failed', async () => {
    const { visitor, failures } = await landedOn(
      customStore({ getToken: () => Promise.resolve({ ...entry, token: 5 }) }),
    );
    expect((await visitor.get('/token').expect(200)).body).toEqual({ token: null });
    expect(failures.map(({ error }) => error.code)).toEqual(['STORE_UNAVAILABLE']);
  });

  it.each([
    ['null', null],
    ['an unknown outcome', 'yes'],
  ])('from acquireClaims (%s): sendConversion fails with STORE_UNAVAILABLE', async (_, answer) => {
    const { sovendus } = createShop({
      store: customStore({ acquireClaims: () => Promise.resolve(answer) }),
      apiBaseUrl: fixture.api.url,
    });
    expect(await sovendus.sendConversion({ token: freshTestToken() })).toMatchObject({
      status: 'failed',
      error: { code: 'STORE_UNAVAILABLE' },
    });
    expect(fixture.api.calls).toHaveLength(0);
  });
});

describe("a custom store's voucher codes", () => {
  /** A shop with coupons on `store`, whose visitor read their voucher code back. */
  async function codeReadFrom(getCouponCode: () => Promise<unknown>) {
    const real = fixture.redis.store;
    const store = customStore({
      saveCouponCode: (...args: Parameters<NonNullable<TokenStore['saveCouponCode']>>) =>
        real.saveCouponCode(...args),
      deleteCouponCode: () => Promise.resolve(),
      getCouponCode,
    } as never);
    const { app, sovendus } = createShop({ store, coupons: { trafficSourceNumber: 1234 } });
    const failures: SovendusEvents['failed'][] = [];
    sovendus.on('failed', (event) => failures.push(event));
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=SUMMER-10').expect(200, 'shop page');
    const { body } = await visitor.get('/coupon').expect(200);
    return { body: body as unknown, failures };
  }

  it('answered null: none, and nothing failed', async () => {
    const { body, failures } = await codeReadFrom(() => Promise.resolve(null));
    expect(body).toEqual({ couponCode: null });
    expect(failures).toEqual([]);
  });

  it.each([
    ['a number', 10],
    ['an object', { couponCode: 'SUMMER-10' }],
    ['a code with a space', 'TWO WORDS'],
    ['markup', '<script>'.padEnd(120, 'x')],
  ])('answered %s: a store failure, read as none', async (_, answer) => {
    const { body, failures } = await codeReadFrom(() => Promise.resolve(answer));
    expect(body).toEqual({ couponCode: null });
    expect(failures.map(({ stage, error }) => [stage, error.code])).toEqual([
      ['redemption', 'STORE_UNAVAILABLE'],
    ]);
  });
});
