import { createHash } from 'node:crypto';
import { inspect } from 'node:util';
import {
  createSovendus,
  SovendusConfigError,
  SovendusValidationError,
  type RedemptionResult,
  type Sovendus,
  type SovendusEvents,
  type SovendusOptions,
} from '../src/index.js';
import { startFakeSovendusApi, type FakeSovendusApi } from '../src/testing/index.js';
import { API_KEY, PRODUCT_ID, TEST_TOKEN } from './support/shop.js';

const SOURCE = '1234';
const MEDIUM = 'e59c9966-f9ad-477b-8df8-826fb9a690f7';
// A second traffic source and medium of the same shop (another country's, say).
const OTHER_SOURCE = '5678';
const OTHER_MEDIUM = '0f0e0d0c-0b0a-4909-8807-060504030201';
const EMAIL = '  Jane.Doe@Example.COM ';
const md5 = (text: string) => createHash('md5').update(text).digest('hex');

let api: FakeSovendusApi;
let sovendus: Sovendus;
let lines: string[];
const opened: Sovendus[] = [];

beforeAll(async () => {
  api = await startFakeSovendusApi({
    apiKey: API_KEY,
    trafficSourceNumbers: [SOURCE, OTHER_SOURCE],
    trafficMediumPublicIds: [MEDIUM, OTHER_MEDIUM],
  });
});
afterAll(() => api.close());

function instance(options: Partial<SovendusOptions> = {}): Sovendus {
  const logger = Object.fromEntries(
    ['debug', 'info', 'warn', 'error'].map((level) => [
      level,
      (object: Record<string, unknown>, message: string) => {
        lines.push(`${level} ${message} ${JSON.stringify(object)}`);
      },
    ]),
  );
  const created = createSovendus({
    coupons: { trafficSourceNumber: SOURCE, apiBaseUrl: api.url },
    retry: { attempts: 3, minDelayMs: 10, maxDelayMs: 20 },
    timeoutMs: 300,
    logger,
    ...options,
  });
  opened.push(created);
  return created;
}

beforeEach(() => {
  api.reset();
  lines = [];
  sovendus = instance();
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((each) => each.close()));
});

let orders = 0;
const nextOrder = () => `order-${process.pid}-${Date.now()}-${(orders += 1)}`;

function failure(result: RedemptionResult) {
  if (result.status !== 'failed') throw new Error(`expected failed, got ${result.status}`);
  return result.error;
}

describe('redeemCoupon', () => {
  it('posts the redemption to /redeem/{trafficSourceNumber} with the protocol field names', async () => {
    const orderId = nextOrder();
    const result = await sovendus.redeemCoupon({
      couponCode: ' SKDXXR4324 ',
      orderId,
      orderValue: '12.34',
      orderCurrency: 'EUR',
      email: EMAIL,
    });
    expect(result).toEqual({ status: 'sent', couponCode: 'SKDXXR4324', orderId, attempts: 1 });
    expect(api.redemptions).toHaveLength(1);
    expect(api.calls[0]).toMatchObject({ api: 'coupon', path: `/redeem/${SOURCE}`, reply: 200 });
    expect(api.calls[0]?.redemption).toEqual({
      coupon_code: 'SKDXXR4324',
      order_id: orderId,
      order_value: '12.34',
      order_currency: 'EUR',
      email_hash: md5('jane.doe@example.com'),
    });
  });

  it('sends only the code when that is all the shop has', async () => {
    const result = await sovendus.redeemCoupon({ couponCode: `ONLY-${nextOrder()}` });
    expect(result.status).toBe('sent');
    expect(Object.keys(api.calls[0]?.redemption ?? {})).toEqual(['coupon_code']);
  });

  it('adds the traffic medium id when it is configured', async () => {
    const withMedium = instance({
      coupons: { trafficSourceNumber: 1234, trafficMediumPublicId: MEDIUM, apiBaseUrl: api.url },
    });
    expect((await withMedium.redeemCoupon({ couponCode: nextOrder() })).status).toBe('sent');
    expect(api.calls[0]?.redemption).toMatchObject({ traffic_medium_public_id: MEDIUM });
  });

  it('never sends, logs or returns the raw e-mail address', async () => {
    const events: unknown[] = [];
    sovendus.on('redeemed', (event) => events.push(event));
    const result = await sovendus.redeemCoupon({
      couponCode: 'PRIVATE-1',
      orderId: nextOrder(),
      email: EMAIL,
    });
    api.failNext(1, { status: 422, body: { error: 'Input validation failed.' } });
    const refused = await sovendus.redeemCoupon({ couponCode: 'PRIVATE-2', email: EMAIL });
    const invalid = await sovendus.redeemCoupon({ couponCode: 'PRIVATE-3', email: 'jane@' });

    const everything = [
      JSON.stringify(api.calls),
      lines.join('\n'),
      inspect([result, refused, invalid, events], { depth: 10 }),
      JSON.stringify([result, refused, invalid, events]),
    ].join('\n');
    expect(everything.toLowerCase()).not.toContain('jane');
    // The hash goes to Sovendus and nowhere else: not into logs, results or events.
    expect(JSON.stringify(api.calls)).toContain(md5('jane.doe@example.com'));
    expect(lines.join('\n')).not.toContain(md5('jane.doe@example.com'));
    expect(JSON.stringify([result, refused, events])).not.toContain(md5('jane.doe@example.com'));
  });

  it.each([
    ['no code', { couponCode: undefined }, 'couponCode is required'],
    ['an empty code', { couponCode: '   ' }, 'couponCode is required'],
    ['a code with a space', { couponCode: 'TWO WORDS' }, 'couponCode must be'],
    ['a code too long', { couponCode: 'X'.repeat(101) }, 'couponCode must be'],
    ['three decimal places', { orderValue: '12.345', orderCurrency: 'EUR' }, 'orderValue'],
    ['a decimal comma', { orderValue: '12,34', orderCurrency: 'EUR' }, 'orderValue'],
    ['a negative value', { orderValue: -1, orderCurrency: 'EUR' }, 'orderValue'],
    ['a float that is no amount', { orderValue: 0.1 + 0.2, orderCurrency: 'EUR' }, 'orderValue'],
    ['NaN', { orderValue: Number.NaN, orderCurrency: 'EUR' }, 'orderValue'],
    ['a value without currency', { orderValue: '5.00' }, 'give both or neither'],
    ['a currency without value', { orderCurrency: 'EUR' }, 'give both or neither'],
    ['a currency that is not ISO 4217', { orderValue: 5, orderCurrency: 'EURO' }, 'ISO 4217'],
    ['an unknown currency', { orderValue: 5, orderCurrency: 'XYZ' }, 'ISO 4217'],
    ['an address without @', { email: 'jane.example.com' }, 'email must be'],
    ['an empty order id', { orderId: '' }, 'orderId must be'],
  ])('refuses %s before any call, with a typed error', async (_name, input, problem) => {
    const result = await sovendus.redeemCoupon({ couponCode: 'VALID-1', ...input } as never);
    const error = failure(result);
    expect(error).toBeInstanceOf(SovendusValidationError);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', retryable: false });
    expect(error.message).toContain(problem);
    expect(result).toMatchObject({ attempts: 0 });
    expect(api.calls).toHaveLength(0);
  });

  it('lists every problem of a call at once', async () => {
    const error = failure(
      await sovendus.redeemCoupon({ couponCode: '', orderValue: '1.234', orderCurrency: 'EU' }),
    );
    if (!(error instanceof SovendusValidationError)) throw error;
    expect(error.problems).toHaveLength(3);
  });

  it.each([
    [12.3, 'usd', '12.30', 'USD'],
    ['7', 'EUR', '7.00', 'EUR'],
    [' 19.9 ', ' gbp ', '19.90', 'GBP'],
    [0, 'EUR', '0.00', 'EUR'],
  ])('sends %p %p as %p %p', async (orderValue, orderCurrency, value, currency) => {
    await sovendus.redeemCoupon({ couponCode: nextOrder(), orderValue, orderCurrency });
    expect(api.calls[0]?.redemption).toMatchObject({
      order_value: value,
      order_currency: currency,
    });
  });
});

describe('per-call traffic source', () => {
  it('posts to the traffic source and medium of the call, over the coupons option', async () => {
    const withMedium = instance({
      coupons: { trafficSourceNumber: SOURCE, trafficMediumPublicId: MEDIUM, apiBaseUrl: api.url },
    });
    const result = await withMedium.redeemCoupon({
      couponCode: 'AUSTRIA-1',
      orderId: nextOrder(),
      trafficSourceNumber: Number(OTHER_SOURCE),
      trafficMediumPublicId: OTHER_MEDIUM,
    });
    expect(result.status).toBe('sent');
    expect(api.calls[0]).toMatchObject({ path: `/redeem/${OTHER_SOURCE}` });
    expect(api.calls[0]?.redemption).toMatchObject({ traffic_medium_public_id: OTHER_MEDIUM });
  });

  it('overrides each of the two alone: the other stays the option', async () => {
    const withMedium = instance({
      coupons: { trafficSourceNumber: SOURCE, trafficMediumPublicId: MEDIUM, apiBaseUrl: api.url },
    });
    await withMedium.redeemCoupon({ couponCode: 'A-1', trafficSourceNumber: OTHER_SOURCE });
    await withMedium.redeemCoupon({ couponCode: 'A-2', trafficMediumPublicId: OTHER_MEDIUM });
    expect(api.calls.map((call) => [call.path, call.redemption?.traffic_medium_public_id])).toEqual(
      [
        [`/redeem/${OTHER_SOURCE}`, MEDIUM],
        [`/redeem/${SOURCE}`, OTHER_MEDIUM],
      ],
    );
  });

  it.each([
    [
      'a traffic source that is not a number',
      { trafficSourceNumber: '12a' },
      'trafficSourceNumber',
    ],
    ['a traffic source of 0', { trafficSourceNumber: 0 }, 'trafficSourceNumber'],
    ['a traffic source of the wrong type', { trafficSourceNumber: true }, 'trafficSourceNumber'],
    ['a medium that is not a UUID', { trafficMediumPublicId: 'x' }, 'trafficMediumPublicId'],
  ])('refuses %s with INVALID_INPUT, before any call', async (_name, input, field) => {
    const result = await sovendus.redeemCoupon({ couponCode: 'VALID-1', ...input } as never);
    const error = failure(result);
    expect(error).toBeInstanceOf(SovendusValidationError);
    expect(error).toMatchObject({ code: 'INVALID_INPUT', retryable: false });
    expect(error.message).toContain(field);
    expect(api.calls).toHaveLength(0);
  });

  // The traffic source says whose account a redemption is counted for, not which redemption
  // it is: the order used the code once, so it is reported once, whichever source a retry
  // (or a second code path of the shop) names. See couponClaimKey.
  it('reports an order and code once, whichever traffic source a second call names', async () => {
    const orderId = nextOrder();
    expect((await sovendus.redeemCoupon({ couponCode: 'ONCE', orderId })).status).toBe('sent');
    const again = await sovendus.redeemCoupon({
      couponCode: 'ONCE',
      orderId,
      trafficSourceNumber: OTHER_SOURCE,
    });
    expect(again.status).toBe('duplicate');
    expect(api.calls).toHaveLength(1);
  });
});

describe("Sovendus' answers", () => {
  it('404: a malformed traffic source number, not retried', async () => {
    api.failNext(1, { status: 404 });
    const result = await sovendus.redeemCoupon({ couponCode: nextOrder() });
    expect(failure(result)).toMatchObject({ code: 'WRONG_URL', status: 404, retryable: false });
    expect(failure(result).message).toContain('trafficSourceNumber is malformed');
    expect(api.calls).toHaveLength(1);
  });

  it('a redirect: never followed, not retried, and the message names coupons.apiBaseUrl', async () => {
    api.failNext(1, { status: 308, headers: { location: `${api.url}/elsewhere` } });
    const error = failure(await sovendus.redeemCoupon({ couponCode: nextOrder() }));
    expect(error).toMatchObject({ code: 'UNEXPECTED_STATUS', retryable: false });
    expect(error.message).toMatch(/redirect.*coupons\.apiBaseUrl/);
    expect(api.calls).toHaveLength(1);
  });

  it("422: Sovendus' validation message, not retried", async () => {
    api.failNext(1, { status: 422, body: { error: 'Input validation failed.' } });
    const error = failure(await sovendus.redeemCoupon({ couponCode: nextOrder() }));
    expect(error).toMatchObject({
      code: 'INVALID_PARAMETERS',
      status: 422,
      retryable: false,
      sovendusMessage: 'Input validation failed.',
    });
    expect(error.message).toContain('Input validation failed.');
  });

  it('500 after the bounded retries: says to check the traffic source and medium', async () => {
    const wrongSource = instance({ coupons: { trafficSourceNumber: 9999, apiBaseUrl: api.url } });
    const result = await wrongSource.redeemCoupon({ couponCode: nextOrder() });
    const error = failure(result);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', status: 500, retryable: true });
    expect(error.message).toContain(
      'check coupons.trafficSourceNumber and coupons.trafficMediumPublicId',
    );
    expect(result).toMatchObject({ attempts: 3 });
    expect(api.calls.map((call) => call.reply)).toEqual([500, 500, 500]);
  });

  it('retries a transient failure and reports how many attempts it took', async () => {
    api.failNext(1, { status: 503 });
    const result = await sovendus.redeemCoupon({ couponCode: nextOrder() });
    expect(result).toMatchObject({ status: 'sent', attempts: 2 });
  });
});

describe('exactly once per order and code', () => {
  it('sends one of many concurrent redemptions of the same order and code', async () => {
    const orderId = nextOrder();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => sovendus.redeemCoupon({ couponCode: 'TWICE', orderId })),
    );
    expect(results.map((result) => result.status).sort()).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'duplicate',
      'sent',
    ]);
    expect(await sovendus.redeemCoupon({ couponCode: 'TWICE', orderId })).toEqual({
      status: 'duplicate',
      couponCode: 'TWICE',
      orderId,
    });
    expect(api.redemptions).toHaveLength(1);
  });

  it('reports the same shared code again for another order', async () => {
    await sovendus.redeemCoupon({ couponCode: 'SUMMER', orderId: nextOrder() });
    await sovendus.redeemCoupon({ couponCode: 'SUMMER', orderId: nextOrder() });
    expect(api.redemptions).toHaveLength(2);
  });

  it('reports a code without an order id once', async () => {
    const couponCode = `UNIQUE-${nextOrder()}`;
    await sovendus.redeemCoupon({ couponCode });
    expect((await sovendus.redeemCoupon({ couponCode })).status).toBe('duplicate');
    expect(api.redemptions).toHaveLength(1);
  });

  it('tries again after a failure: a failed redemption does not block the next one', async () => {
    const orderId = nextOrder();
    api.failNext(3, { status: 503 });
    expect((await sovendus.redeemCoupon({ couponCode: 'AGAIN', orderId })).status).toBe('failed');
    expect((await sovendus.redeemCoupon({ couponCode: 'AGAIN', orderId })).status).toBe('sent');
  });

  it('keeps conversions and redemptions of the same order apart', async () => {
    const both = instance({ productId: PRODUCT_ID, apiKey: API_KEY, apiBaseUrl: api.url });
    const orderId = nextOrder();
    const [conversion, redemption] = await Promise.all([
      both.sendConversion({ token: TEST_TOKEN.replace('12345-', '54321-'), orderId }),
      both.redeemCoupon({ couponCode: 'BOTH', orderId }),
    ]);
    expect([conversion.status, redemption.status]).toEqual(['sent', 'sent']);
  });
});

describe('configuration', () => {
  it('lets a coupon-only shop leave out productId and apiKey, and says what it cannot do', async () => {
    // capture() keeps its voucher links (voucher-links.test.ts); convert() has no conversion.
    expect(typeof sovendus.capture()).toBe('function');
    expect(() => sovendus.convert()).toThrow(/needs the productId and apiKey options/);
    const result = await sovendus.sendConversion({ token: TEST_TOKEN });
    expect(result).toMatchObject({ status: 'failed', error: { code: 'INVALID_CONFIG' } });
    expect(api.calls).toHaveLength(0);
  });

  it('asks nothing new of a conversion-only shop, and says what redeemCoupon needs', async () => {
    const conversionsOnly = createSovendus({ productId: PRODUCT_ID, apiKey: API_KEY });
    opened.push(conversionsOnly);
    const result = await conversionsOnly.redeemCoupon({ couponCode: 'ANY' });
    expect(result).toMatchObject({ status: 'failed', attempts: 0 });
    expect(failure(result).message).toContain('needs the coupons option');
  });

  it.each([
    ['neither conversions nor coupons', {}, 'give productId and apiKey'],
    ['a product id without a key', { productId: PRODUCT_ID }, 'apiKey: is required'],
    ['a key without a product id', { apiKey: API_KEY }, 'productId: is required'],
    [
      'a traffic source that is not a number',
      { coupons: { trafficSourceNumber: '12a' } },
      'coupons.trafficSourceNumber',
    ],
    [
      'a traffic medium id that is not a UUID',
      { coupons: { trafficSourceNumber: 1, trafficMediumPublicId: 'x' } },
      'coupons.trafficMediumPublicId: must be a UUID',
    ],
    ['a typo in coupons', { coupons: { trafficSourceNumber: 1, apiBaseUrll: 'x' } }, 'coupons'],
  ])('refuses %s at construction', (_name, options, message) => {
    expect(() => createSovendus(options as SovendusOptions)).toThrow(SovendusConfigError);
    expect(() => createSovendus(options as SovendusOptions)).toThrow(message);
  });

  it('emits redeemed for an accepted redemption', async () => {
    const redeemed = new Promise<SovendusEvents['redeemed']>((resolve) => {
      sovendus.on('redeemed', resolve);
    });
    const orderId = nextOrder();
    await sovendus.redeemCoupon({ couponCode: 'EVENT', orderId });
    expect(await redeemed).toEqual({ status: 'sent', couponCode: 'EVENT', orderId, attempts: 1 });
  });
});
