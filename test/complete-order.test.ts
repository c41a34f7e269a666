import { createHash } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import type {
  CompleteOrderOptions,
  CompleteOrderResult,
  ConversionResult,
  RedemptionResult,
  Sovendus,
  SovendusOptions,
} from '../src/index.js';
import { instancesClosedAfterEach, useFakeApi } from './support/fixtures.js';
import { landWithFreshToken, PRODUCT_ID } from './support/shop.js';
import { waitFor } from './support/wait-for.js';

// req.sovendus.completeOrder(): the checkout of one order, its conversion and each of its
// voucher codes, against the real Redis, the fake API, real HTTP and express-session.

const fixture = useFakeApi({ redis: true });
const { instanceWith } = instancesClosedAfterEach(() => fixture.api.url);

const SOURCE = '1234';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

let orders = 0;
const nextOrder = () => `order-${process.pid}-${Date.now()}-${(orders += 1)}`;

/** A result as JSON, each error reduced to its code and message. */
function plain(result: ConversionResult | RedemptionResult): Record<string, unknown> {
  if (result.status !== 'failed') return { ...result };
  const { error, ...rest } = result;
  return { ...rest, error: { code: error.code, message: error.message } };
}

const described = ({ conversion, redemptions }: CompleteOrderResult) => ({
  conversion: plain(conversion),
  redemptions: redemptions.map(plain),
});

/**
 * A shop whose `/order` route hands the JSON body's `order`, as it came, to completeOrder;
 * `routes` adds the test's own before the shop's pages.
 */
function shopWith(
  options: Partial<SovendusOptions> = {},
  routes: (app: express.Express, sovendus: Sovendus) => void = () => undefined,
): {
  app: express.Express;
  sovendus: Sovendus;
} {
  const sovendus = instanceWith({
    coupons: { trafficSourceNumber: SOURCE, apiBaseUrl: fixture.api.url },
    store: fixture.redis.store,
    // Generous: these tests count outcomes; the bound has its own test, by state.
    storeTimeoutMs: 10_000,
    timeoutMs: 10_000,
    retry: { attempts: 1 },
    ...options,
  });
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
  app.use(sovendus.capture());
  app.post('/order', async (req, res) => {
    const { order } = req.body as { order: unknown };
    res.json(described(await req.sovendus.completeOrder(order as never)));
  });
  app.get('/token', async (req, res) => {
    res.json({ token: (await req.sovendus.getToken()) ?? null });
  });
  routes(app, sovendus);
  app.use((_req, res) => res.send('shop page'));
  return { app, sovendus };
}

describe('req.sovendus.completeOrder()', () => {
  it("sends the session's conversion and redeems each distinct code of the order", async () => {
    const { app } = shopWith();
    const { visitor, token } = await landWithFreshToken(app);
    const orderId = nextOrder();
    const { body } = await visitor
      .post('/order')
      .send({
        order: {
          orderId,
          orderValue: '42.50',
          orderCurrency: 'EUR',
          email: ' Jane@Example.com',
          couponCodes: [' SUMMER10 ', 'SUMMER10', '', '   ', 'WELCOME5'],
        },
      })
      .expect(200);
    expect(body).toEqual({
      conversion: { status: 'sent', token, productId: PRODUCT_ID, orderId, attempts: 1 },
      redemptions: [
        { status: 'sent', couponCode: 'SUMMER10', orderId, attempts: 1 },
        { status: 'sent', couponCode: 'WELCOME5', orderId, attempts: 1 },
      ],
    });
    expect(fixture.api.conversions.map((call) => call.token)).toEqual([token]);
    const sent = fixture.api.redemptions.map((call) => call.redemption);
    expect(sent).toHaveLength(2);
    for (const code of ['SUMMER10', 'WELCOME5']) {
      expect(sent).toContainEqual({
        coupon_code: code,
        order_id: orderId,
        order_value: '42.50',
        order_currency: 'EUR',
        email_hash: md5('jane@example.com'),
      });
    }
    expect((await visitor.get('/token')).body).toEqual({ token: null });
  });

  it('redeems the codes of a visitor who did not come from Sovendus', async () => {
    const { app } = shopWith();
    const orderId = nextOrder();
    const { body } = await request(app)
      .post('/order')
      .send({ order: { orderId, couponCodes: ['SHOPCODE'] } });
    expect(body).toEqual({
      conversion: { status: 'no_token' },
      redemptions: [{ status: 'sent', couponCode: 'SHOPCODE', orderId, attempts: 1 }],
    });
  });

  it('redeems nothing, and says nothing failed, without the coupons option', async () => {
    const { app } = shopWith({ coupons: undefined });
    const { visitor } = await landWithFreshToken(app);
    const { body } = await visitor
      .post('/order')
      .send({ order: { orderId: nextOrder(), couponCodes: ['SUMMER10'] } });
    expect(body).toMatchObject({ conversion: { status: 'sent' }, redemptions: [] });
    expect(fixture.api.calls.map((call) => call.api)).toEqual(['conversion']);
  });

  it('reports each order and code once, through the claims redeemCoupon uses', async () => {
    const { app, sovendus } = shopWith();
    const { visitor, token } = await landWithFreshToken(app);
    const orderId = nextOrder();
    const order = { orderId, couponCodes: ['ONCE'] };
    const [first, second] = await Promise.all([
      visitor.post('/order').send({ order }),
      visitor.post('/order').send({ order }),
    ]);
    const statuses = [first, second].map(({ body }) => [
      (body as CompleteOrderResult).conversion.status,
      (body as CompleteOrderResult).redemptions[0]?.status,
    ]);
    // One checkout sends each; the other meets its claim or, once the token is used up, finds none.
    expect(statuses.flat().filter((status) => status === 'sent')).toHaveLength(2);
    expect(await sovendus.redeemCoupon({ couponCode: 'ONCE', orderId })).toEqual({
      status: 'duplicate',
      couponCode: 'ONCE',
      orderId,
    });
    expect(fixture.api.conversions.map((call) => call.token)).toEqual([token]);
    expect(fixture.api.redemptions).toHaveLength(1);
  });

  it("sends the codes to the call's traffic source and medium", async () => {
    const { app } = shopWith();
    const medium = 'e59c9966-f9ad-477b-8df8-826fb9a690f7';
    await request(app)
      .post('/order')
      .send({
        order: {
          orderId: nextOrder(),
          couponCodes: ['AT-1'],
          trafficSourceNumber: 5678,
          trafficMediumPublicId: medium,
        },
      })
      .expect(200);
    expect(fixture.api.calls.map((call) => call.path)).toEqual(['/redeem/5678']);
    expect(fixture.api.calls[0]?.redemption).toMatchObject({ traffic_medium_public_id: medium });
  });

  it('runs the conversion and the redemptions side by side', async () => {
    const { app } = shopWith();
    const { visitor } = await landWithFreshToken(app);
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    fixture.api.enqueue(...Array.from({ length: 3 }, () => ({ status: 200, until: answered })));
    const checkout = visitor
      .post('/order')
      .send({ order: { orderId: nextOrder(), couponCodes: ['A-1', 'B-2'] } });
    const done = checkout.then((response) => response);
    // Not one call answers until all three were made: one after the other, they never would.
    await waitFor(() => fixture.api.calls.length === 3, 'three calls at once', {
      detail: () => JSON.stringify(fixture.api.calls.map((call) => call.path)),
    });
    answer();
    const { body } = await done;
    expect((body as CompleteOrderResult).redemptions.map((result) => result.status)).toEqual([
      'sent',
      'sent',
    ]);
  });

  it('waits for Sovendus no longer than timeoutMs: the result comes while the calls hang', async () => {
    const { app } = shopWith({ timeoutMs: 200 });
    const { visitor, token } = await landWithFreshToken(app);
    let answer: () => void = () => undefined;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    fixture.api.enqueue(...Array.from({ length: 2 }, () => ({ status: 200, until: answered })));
    const { body } = await visitor
      .post('/order')
      .send({ order: { orderId: nextOrder(), couponCodes: ['SLOW'] } });
    // Sovendus has answered nothing yet (`answer` was not called): the checkout went on
    // without waiting for it, as the bound says.
    expect(body).toMatchObject({
      conversion: { status: 'failed', error: { code: 'UNAVAILABLE' } },
      redemptions: [{ status: 'failed', couponCode: 'SLOW', error: { code: 'UNAVAILABLE' } }],
    });
    answer();
    // The calls went on, and were recorded when they were answered: the token is used up.
    await waitFor(
      async () => (await visitor.get('/token')).body.token === null,
      `the late answer for ${token} to be recorded`,
    );
    expect(fixture.api.calls.map((call) => call.api).sort()).toEqual(['conversion', 'coupon']);
  });
});

describe('completeOrder() misuse from JavaScript: failed results, never a rejection', () => {
  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an order id alone', 'A-1001'],
    ['a number', 42],
  ])(
    'given %s: a failed INVALID_INPUT conversion, no redemption, the token kept',
    async (_, order) => {
      const { app } = shopWith();
      const { visitor, token } = await landWithFreshToken(app);
      const { body } = await visitor.post('/order').send({ order }).expect(200);
      expect(body).toMatchObject({
        conversion: { status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } },
        redemptions: [],
      });
      expect(fixture.api.calls).toEqual([]);
      expect((await visitor.get('/token')).body).toEqual({ token });
    },
  );

  it.each([
    ['no order id', {}, 'orderId is required'],
    ['an empty order id', { orderId: '' }, 'orderId must be'],
    ['an order id of the wrong type', { orderId: { id: 1 } }, 'orderId must be'],
  ])('with %s: nothing is sent, and every code fails with it', async (_, fields, message) => {
    const { app } = shopWith();
    const { visitor, token } = await landWithFreshToken(app);
    const order = { ...fields, couponCodes: ['A-1', 'B-2'] };
    const { body } = await visitor.post('/order').send({ order }).expect(200);
    const failed = { status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } };
    expect(body).toMatchObject({
      conversion: failed,
      redemptions: [
        { ...failed, couponCode: 'A-1' },
        { ...failed, couponCode: 'B-2' },
      ],
    });
    expect(body.conversion.error.message).toContain(message);
    expect(fixture.api.calls).toEqual([]);
    expect((await visitor.get('/token')).body).toEqual({ token });
  });

  it.each([
    ['couponCodes that is a string', { couponCodes: 'SUMMER10' }, 'couponCodes must be'],
    [
      'more codes than an order can have',
      { couponCodes: Array.from({ length: 21 }, (_, index) => `CODE-${index}`) },
      'at most 20',
    ],
  ])('with %s: the conversion goes, one failed redemption says why', async (_, fields, message) => {
    const { app } = shopWith();
    const { visitor } = await landWithFreshToken(app);
    const order = { orderId: nextOrder(), ...fields };
    const { body } = await visitor.post('/order').send({ order }).expect(200);
    expect(body).toMatchObject({
      conversion: { status: 'sent' },
      redemptions: [{ status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } }],
    });
    expect(body.redemptions).toHaveLength(1);
    expect(body.redemptions[0].error.message).toContain(message);
    expect(fixture.api.calls.map((call) => call.api)).toEqual(['conversion']);
  });

  it.each([
    ['a code that is not a string', { couponCodes: [7, 'GOOD'] }, 'couponCode'],
    ['a bad traffic source', { couponCodes: ['GOOD'], trafficSourceNumber: 'x' }, 'traffic'],
    ['a value without currency', { couponCodes: ['GOOD'], orderValue: '5.00' }, 'both'],
  ])('with %s: each redemption as redeemCoupon would answer it', async (_, fields, message) => {
    const { app } = shopWith();
    const { visitor } = await landWithFreshToken(app);
    const order = { orderId: nextOrder(), ...fields };
    const { body } = await visitor.post('/order').send({ order }).expect(200);
    expect(body.conversion).toMatchObject({ status: 'sent' });
    const failed = (body as CompleteOrderResult).redemptions.filter(
      (result) => result.status === 'failed',
    );
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempts: 0, error: { code: 'INVALID_INPUT' } });
    expect(JSON.stringify(failed[0])).toContain(message);
  });
});

describe('convert({ order })', () => {
  type OrderOf = (req: express.Request) => unknown;

  /** A shop whose checkout reads its order with `orderOf`; the handler shows both locals. */
  function checkoutShop(orderOf: OrderOf, options: Partial<SovendusOptions> = {}) {
    const failures: string[] = [];
    const { app } = shopWith(options, (routes, sovendus) => {
      sovendus.on('failed', ({ stage, error }) => failures.push(`${stage} ${error.code}`));
      routes.post(
        '/checkout',
        // Typed as the public option; the tests hand it what JavaScript could.
        sovendus.convert({ order: orderOf as never }),
        (_req, res) => {
          res.json({
            conversion: res.locals.sovendus && plain(res.locals.sovendus),
            redemptions: res.locals.sovendusRedemptions?.map(plain) ?? 'unset',
          });
        },
      );
    });
    return { app, failures };
  }

  const fromBody: OrderOf = (req) => (req.body as { order?: unknown }).order;

  it('completes the order: the conversion in res.locals.sovendus, the codes beside it', async () => {
    const { app } = checkoutShop(fromBody);
    const { visitor, token } = await landWithFreshToken(app);
    const orderId = nextOrder();
    const { body } = await visitor
      .post('/checkout')
      .send({ order: { orderId, couponCodes: ['SUMMER10'] } })
      .expect(200);
    expect(body).toEqual({
      conversion: { status: 'sent', token, productId: PRODUCT_ID, orderId, attempts: 1 },
      redemptions: [{ status: 'sent', couponCode: 'SUMMER10', orderId, attempts: 1 }],
    });
  });

  it('may be async, as the orderId extractor may: its answer is awaited', async () => {
    const { app } = checkoutShop(async (req) => {
      await new Promise((resolve) => setImmediate(resolve)); // a database lookup, say
      return fromBody(req);
    });
    const orderId = nextOrder();
    const { body } = await request(app)
      .post('/checkout')
      .send({ order: { orderId, couponCodes: ['LATER'] } });
    expect(body).toEqual({
      conversion: { status: 'no_token' },
      redemptions: [{ status: 'sent', couponCode: 'LATER', orderId, attempts: 1 }],
    });
  });

  it.each<[string, OrderOf, string]>([
    [
      'throws',
      () => {
        throw new Error('no order in this request');
      },
      'no order in this request',
    ],
    ['rejects', () => Promise.reject(new Error('order lookup failed')), 'order lookup failed'],
  ])(
    'that %s: the handler runs, the conversion failed INVALID_CONFIG, no redemption',
    async (_, orderOf, message) => {
      const { app, failures } = checkoutShop(orderOf);
      const { visitor, token } = await landWithFreshToken(app);
      const { body } = await visitor.post('/checkout').expect(200);
      expect(body).toMatchObject({
        conversion: { status: 'failed', attempts: 0, error: { code: 'INVALID_CONFIG' } },
        redemptions: [],
      });
      expect(body.conversion.error.message).toContain('convert({ order })');
      expect(body.conversion.error.message).toContain(message);
      expect(failures).toEqual(['conversion INVALID_CONFIG']);
      expect((await visitor.get('/token')).body).toEqual({ token });
    },
  );

  it('that answers something other than an order: failed INVALID_INPUT results', async () => {
    const { app } = checkoutShop(() => 'A-1001');
    const { body } = await request(app).post('/checkout').expect(200);
    expect(body).toMatchObject({
      conversion: { status: 'failed', error: { code: 'INVALID_INPUT' } },
      redemptions: [],
    });
  });

  it('lets a coupon-only shop complete orders: no_token, and its codes redeemed', async () => {
    const couponsOnly = instanceWith({
      productId: undefined,
      apiKey: undefined,
      coupons: { trafficSourceNumber: SOURCE, apiBaseUrl: fixture.api.url },
    });
    // No capture(): a coupon-only shop has no token to capture.
    const app = express();
    app.use(express.json());
    app.post('/checkout', couponsOnly.convert({ order: fromBody as never }), (_req, res) => {
      res.json({
        conversion: res.locals.sovendus,
        redemptions: res.locals.sovendusRedemptions?.map(plain),
      });
    });
    const orderId = nextOrder();
    const { body } = await request(app)
      .post('/checkout')
      .send({ order: { orderId, couponCodes: ['ONLY'] } });
    expect(body).toEqual({
      conversion: { status: 'no_token' },
      redemptions: [{ status: 'sent', couponCode: 'ONLY', orderId, attempts: 1 }],
    });
    expect(fixture.api.calls.map((call) => call.api)).toEqual(['coupon']);
  });

  it('refuses, at set-up, an order that is not a function, or one given with orderId', () => {
    const sovendus = instanceWith({ store: fixture.redis.store });
    expect(() => sovendus.convert({ order: 'A-1' as never })).toThrow(
      /convert\(\{ order \}\) must be a function/,
    );
    expect(() =>
      sovendus.convert({ orderId: () => 'A-1', order: () => ({ orderId: 'A-1' }) }),
    ).toThrow(/either orderId or order/);
  });

  it('still refuses convert() without an order on a coupon-only shop', () => {
    const couponsOnly = instanceWith({
      productId: undefined,
      apiKey: undefined,
      coupons: { trafficSourceNumber: SOURCE, apiBaseUrl: fixture.api.url },
    });
    expect(() => couponsOnly.convert()).toThrow(/needs the productId and apiKey options/);
  });
});

it("names the code of a redemption that failed on its input, so a shop can tell the order's codes apart", async () => {
  const { app } = shopWith();
  const order = { orderId: nextOrder(), couponCodes: [' TWO WORDS ', 'GOOD'] };
  const { body } = await request(app).post('/order').send({ order }).expect(200);
  expect(body.redemptions).toMatchObject([
    { status: 'failed', couponCode: 'TWO WORDS', error: { code: 'INVALID_INPUT' } },
    { status: 'sent', couponCode: 'GOOD' },
  ]);
});

describe("the session's voucher code (a Sovendus link's sovCouponCode)", () => {
  const EXPIRED_CODE =
    'sovCouponCode=; Max-Age=0; Path=/; Domain=shop.example; Secure; SameSite=Strict';
  const setCookies = (response: request.Response): string[] =>
    (response.headers['set-cookie'] as unknown as string[] | undefined) ?? [];

  /** A shop with `/coupon`, and a visitor who landed on `landing`. */
  async function landedOn(landing: string, options: Partial<SovendusOptions> = {}) {
    const { app } = shopWith(options, (routes) => {
      routes.get('/coupon', async (req, res) => {
        res.json({ couponCode: (await req.sovendus.getCouponCode()) ?? null });
      });
    });
    const visitor = request.agent(app);
    await visitor.get(landing).set('Host', 'shop.example').expect(200, 'shop page');
    const codeHeld = async () => (await visitor.get('/coupon')).body as unknown;
    return { app, visitor, codeHeld };
  }

  it("is redeemed first, ahead of the order's own codes, then leaves the session; the cookie expires", async () => {
    const { visitor, codeHeld } = await landedOn(
      '/?sovReqToken=11111-test-111-11111&sovCouponCode=LINKED-10',
    );
    const orderId = nextOrder();
    const response = await visitor
      .post('/order')
      .set('Host', 'shop.example')
      .send({ order: { orderId, couponCodes: ['OWN-5', ' LINKED-10 '] } })
      .expect(200);
    expect(response.body).toMatchObject({
      conversion: { status: 'sent' },
      redemptions: [
        { status: 'sent', couponCode: 'LINKED-10', orderId },
        { status: 'sent', couponCode: 'OWN-5', orderId },
      ],
    });
    expect(fixture.api.redemptions.map((call) => call.redemption?.coupon_code).sort()).toEqual([
      'LINKED-10',
      'OWN-5',
    ]);
    expect(setCookies(response)).toContain(EXPIRED_CODE);
    expect(await codeHeld()).toEqual({ couponCode: null });
  });

  it('is redeemed for a visitor who came by a voucher link alone', async () => {
    const { visitor, codeHeld } = await landedOn('/?sovCouponCode=ONLY-LINK');
    const orderId = nextOrder();
    const { body } = await visitor.post('/order').send({ order: { orderId } }).expect(200);
    expect(body).toEqual({
      conversion: { status: 'no_token' },
      redemptions: [{ status: 'sent', couponCode: 'ONLY-LINK', orderId, attempts: 1 }],
    });
    expect(await codeHeld()).toEqual({ couponCode: null });
  });

  it('stays in the session when its redemption is not sent, and the cookie is left alone', async () => {
    const { visitor, codeHeld } = await landedOn('/?sovCouponCode=KEPT-FOR-LATER');
    fixture.api.enqueue({ status: 500, body: { error: 'Internal error' } });
    const response = await visitor
      .post('/order')
      .set('Host', 'shop.example')
      .send({ order: { orderId: nextOrder() } })
      .expect(200);
    expect(response.body).toMatchObject({
      redemptions: [{ status: 'failed', couponCode: 'KEPT-FOR-LATER' }],
    });
    expect(setCookies(response)).not.toContain(EXPIRED_CODE);
    expect(await codeHeld()).toEqual({ couponCode: 'KEPT-FOR-LATER' });
  });

  it('is redeemed by convert({ order }) too, into res.locals.sovendusRedemptions', async () => {
    const { app } = shopWith({}, (routes, sovendus) => {
      routes.post(
        '/checkout',
        sovendus.convert({
          order: (req) => ((req as express.Request).body as { order: CompleteOrderOptions }).order,
        }),
        (_req, res) => {
          res.json(res.locals.sovendusRedemptions?.map(plain));
        },
      );
    });
    const visitor = request.agent(app);
    await visitor.get('/?sovCouponCode=BY-CONVERT').expect(200);
    const orderId = nextOrder();
    const { body } = await visitor.post('/checkout').send({ order: { orderId } }).expect(200);
    expect(body).toEqual([{ status: 'sent', couponCode: 'BY-CONVERT', orderId, attempts: 1 }]);
  });

  it('with browserCookie: false, leaves the session when sent, and no cookie is touched', async () => {
    const { visitor, codeHeld } = await landedOn('/?sovCouponCode=NO-COOKIES', {
      browserCookie: false,
    });
    const response = await visitor
      .post('/order')
      .set('Host', 'shop.example')
      .send({ order: { orderId: nextOrder() } })
      .expect(200);
    expect(response.body).toMatchObject({ redemptions: [{ status: 'sent' }] });
    expect(setCookies(response).join()).not.toContain('sovCouponCode');
    expect(await codeHeld()).toEqual({ couponCode: null });
  });

  it('fails with the order when the order id is bad: nothing is sent, the code is kept', async () => {
    const { visitor, codeHeld } = await landedOn('/?sovCouponCode=BAD-ORDER');
    const { body } = await visitor
      .post('/order')
      .send({ order: { orderId: '' } })
      .expect(200);
    expect(body).toMatchObject({
      redemptions: [
        { status: 'failed', couponCode: 'BAD-ORDER', error: { code: 'INVALID_INPUT' } },
      ],
    });
    expect(fixture.api.calls).toEqual([]);
    expect(await codeHeld()).toEqual({ couponCode: 'BAD-ORDER' });
  });
});

describe('consent at checkout', () => {
  /** A shop whose visitors consent when they send `x-consent: yes`. */
  const consenting = () => shopWith({ consent: (req) => req.headers['x-consent'] === 'yes' }).app;

  it('leaves the e-mail hash out of every redemption when the consent option answers false', async () => {
    const orderId = nextOrder();
    const { body } = await request(consenting())
      .post('/order')
      .send({ order: { orderId, couponCodes: ['NO-HASH'], email: 'jane@example.com' } })
      .expect(200);
    expect(body).toMatchObject({ redemptions: [{ status: 'sent', couponCode: 'NO-HASH' }] });
    expect(fixture.api.redemptions.map((call) => call.redemption)).toEqual([
      { coupon_code: 'NO-HASH', order_id: orderId },
    ]);
  });

  it('sends it when the visitor consents', async () => {
    await request(consenting())
      .post('/order')
      .set('x-consent', 'yes')
      .send({ order: { orderId: nextOrder(), couponCodes: ['HASHED'], email: 'jane@example.com' } })
      .expect(200);
    expect(fixture.api.redemptions[0]?.redemption).toMatchObject({
      email_hash: md5('jane@example.com'),
    });
  });

  it('takes a consent option that throws as no consent', async () => {
    const { app } = shopWith({
      consent: () => {
        throw new Error('the consent tool is not loaded');
      },
    });
    await request(app)
      .post('/order')
      .send({ order: { orderId: nextOrder(), couponCodes: ['THROWS'], email: 'jane@example.com' } })
      .expect(200);
    expect(fixture.api.redemptions[0]?.redemption).not.toHaveProperty('email_hash');
  });
});
