import type { IncomingMessage } from 'node:http';
import express from 'express';
import session from 'express-session';
import request from 'supertest';
import { SovendusEventHub } from '../src/events.js';
import type { SovendusEvents, SovendusRequestContext } from '../src/index.js';
import { createLog } from '../src/logging.js';
import { checkoutFailure } from '../src/middleware/checkout-failure.js';
import { createConvertMiddleware } from '../src/middleware/convert-middleware.js';
import { nextTurn, recordingLogger } from './support/callbacks.js';
import { instancesClosedAfterEach, useFakeApi } from './support/fixtures.js';
import { describeResult, landWithFreshToken, PRODUCT_ID } from './support/shop.js';

// What a JavaScript shop can get wrong at checkout, and what it gets back: a typed `failed`
// result, never a throw, a rejection, or a handler that runs without `res.locals.sovendus`.

const fixture = useFakeApi({ redis: true });
const { instanceWith } = instancesClosedAfterEach(() => fixture.api.url);

type OrderIdOf = (req: IncomingMessage) => unknown;

/**
 * A shop whose checkout reads the order id with `orderIdOf`, and whose `/complete/:how` route
 * calls `req.sovendus.complete()` with the JSON body's `options` as they came.
 */
function shopWith(orderIdOf: OrderIdOf = () => undefined) {
  const sovendus = instanceWith({
    coupons: { trafficSourceNumber: 1234, apiBaseUrl: fixture.api.url },
    store: fixture.redis.store,
    storeTimeoutMs: 10_000,
    timeoutMs: 10_000,
  });
  const failures: SovendusEvents['failed'][] = [];
  sovendus.on('failed', (event) => failures.push(event));
  const app = express();
  app.use(express.json());
  app.use(session({ secret: 'test secret', resave: false, saveUninitialized: false }));
  app.use(sovendus.capture());
  app.post(
    '/checkout',
    // Typed as the public option; the tests hand it what JavaScript could.
    sovendus.convert({ orderId: orderIdOf as (req: IncomingMessage) => string | undefined }),
    (_req, res) => {
      res.json({ handler: 'reached', result: describeResult(res.locals.sovendus) ?? 'unset' });
    },
  );
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

describe("convert()'s orderId extractor", () => {
  it('may be async: its answer is awaited and sent as the order id', async () => {
    const { app } = shopWith(async (req) => {
      await nextTurn(); // a database lookup, say
      return (req as express.Request).get('x-order');
    });
    const { visitor, token } = await landWithFreshToken(app);
    const checkout = await visitor.post('/checkout').set('x-order', 'order-7').expect(200);
    expect(checkout.body.result).toEqual({
      status: 'sent',
      token,
      productId: PRODUCT_ID,
      orderId: 'order-7',
      attempts: 1,
    });
  });

  it.each<[string, OrderIdOf, string]>([
    [
      'throws an Error',
      () => {
        throw new Error('no order in this request');
      },
      'no order in this request',
    ],
    [
      'throws undefined',
      () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- what JavaScript can do
        throw undefined;
      },
      'undefined',
    ],
    ['rejects', () => Promise.reject(new Error('order lookup failed')), 'order lookup failed'],
    [
      'returns a thenable whose then throws',
      () => ({
        then: () => {
          throw new Error('broken thenable');
        },
      }),
      'broken thenable',
    ],
  ])(
    'that %s: the handler runs with a failed INVALID_CONFIG result, and the token stays',
    async (_, orderIdOf, message) => {
      const { app, failures } = shopWith(orderIdOf);
      const { visitor, token } = await landWithFreshToken(app);
      const checkout = await visitor.post('/checkout').expect(200);
      expect(checkout.body).toMatchObject({
        handler: 'reached',
        result: { status: 'failed', attempts: 0, error: { code: 'INVALID_CONFIG' } },
      });
      expect(checkout.body.result.error.message).toContain('convert({ orderId })');
      expect(checkout.body.result.error.message).toContain(message);
      expect(failures.map(({ stage, error }) => [stage, error.code])).toEqual([
        ['conversion', 'INVALID_CONFIG'],
      ]);
      expect(fixture.api.calls).toHaveLength(0);
      expect((await visitor.get('/token')).body).toEqual({ token });
      await nextTurn(); // an unhandled rejection would be reported now, and fail this test
    },
  );
});

describe('req.sovendus.complete() called with what is not an options object', () => {
  it.each([
    ['null', null],
    ['a number', 5],
    ['a bare order id', 'order-1'],
  ])('%s resolves failed INVALID_INPUT, and sends nothing', async (_, options) => {
    const { app, failures } = shopWith();
    const { visitor, token } = await landWithFreshToken(app);
    const { body } = await visitor.post('/complete').send({ options }).expect(200);
    expect(body).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } });
    expect(body.error.message).toContain('{ orderId }');
    expect(failures.map(({ error }) => error.code)).toEqual(['INVALID_INPUT']);
    expect(fixture.api.calls).toHaveLength(0);
    expect((await visitor.get('/token')).body).toEqual({ token });
  });
});

describe('req.sovendus.complete() given an order id it cannot use', () => {
  it.each([
    ['an empty string', ''],
    ['a fraction', 10.5],
    ['a control character', 'order\u0001-7'],
  ])('%s resolves failed INVALID_INPUT, and keeps the token', async (_, orderId) => {
    const { app } = shopWith();
    const { visitor, token } = await landWithFreshToken(app);
    const { body } = await visitor.post('/complete').send({ options: { orderId } }).expect(200);
    expect(body).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'INVALID_INPUT' } });
    expect(body.error.message).toContain('orderId');
    expect(fixture.api.calls).toHaveLength(0);
    expect((await visitor.get('/token')).body).toEqual({ token });
  });
});

describe('sendConversion and redeemCoupon called without their options', () => {
  it.each([
    ['sendConversion', undefined, 'INVALID_TOKEN'],
    ['sendConversion', null, 'INVALID_TOKEN'],
    ['redeemCoupon', undefined, 'INVALID_INPUT'],
    ['redeemCoupon', null, 'INVALID_INPUT'],
  ] as const)('%s(%p) neither throws nor rejects: failed %s', async (method, options, code) => {
    const { sovendus } = shopWith();
    let pending: Promise<unknown> | undefined;
    expect(() => {
      pending = sovendus[method](options as never);
    }).not.toThrow();
    expect(await pending).toMatchObject({ status: 'failed', attempts: 0, error: { code } });
    expect(fixture.api.calls).toHaveLength(0);
  });
});

describe('convert() when completing the checkout rejects after all', () => {
  // complete() never rejects; should a bug make it, the shop's checkout must still go on.
  it.each([
    ['convert()', {}, 'unset'],
    ['convert({ order })', { order: () => ({ orderId: 'A-1', couponCodes: ['X'] }) }, []],
  ])('%s calls next() with a failed INTERNAL result, logged', async (_, options, redemptions) => {
    const { lines, logger } = recordingLogger();
    const log = createLog(logger);
    const events = new SovendusEventHub(() => undefined);
    const failures: SovendusEvents['failed'][] = [];
    events.on('failed', (event) => failures.push(event));
    const bug = new Error('a bug in the package');
    const rejecting: SovendusRequestContext = {
      getToken: () => Promise.resolve(undefined),
      getCouponCode: () => Promise.resolve(undefined),
      complete: () => Promise.reject(bug),
      completeOrder: () => Promise.reject(bug),
      forget: () => Promise.resolve(),
    };
    const app = express();
    app.post(
      '/checkout',
      createConvertMiddleware(() => rejecting, checkoutFailure(log, events), options),
      (_req, res) => {
        res.json({
          handler: 'reached',
          result: describeResult(res.locals.sovendus) ?? 'unset',
          redemptions: res.locals.sovendusRedemptions ?? 'unset',
        });
      },
    );
    const { body } = await request(app).post('/checkout').expect(200);
    expect(body).toMatchObject({
      handler: 'reached',
      result: { status: 'failed', attempts: 0, error: { code: 'INTERNAL' } },
      redemptions,
    });
    expect(failures.map(({ error }) => [error.code, error.cause])).toEqual([['INTERNAL', bug]]);
    expect(lines.map(({ level }) => level)).toEqual(['error']);
  });
});
