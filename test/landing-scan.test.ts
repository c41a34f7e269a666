import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { createSovendus, type SovendusOptions } from '../src/index.js';
import { landingReader } from '../src/middleware/landing.js';
import { probeFor } from '../src/middleware/landing-probe.js';
import { PRODUCT_ID, TEST_TOKEN } from './support/shop.js';
import { countWork, repeatTo } from './support/work-count.js';

/**
 * The capture's fast path runs on every request of the shop, and nearly none carries a token or
 * a voucher code. Looking for the voucher code too (`coupons`) must cost it nothing more: one
 * substring search of the query and one of the Cookie header, as with the token alone. Work is
 * counted, not timed (support/work-count.ts).
 */
const MB = 1024 * 1024;
const URL_WITHOUT = `/products/shoes?page=2&sort=price&${'utm_campaign=x&'.repeat(20)}ref=1`;
const COOKIES_WITHOUT = `connect.sid=s%3Aabc.def; ${'_ga=GA1.2.3; '.repeat(20)}consent=1`;
// Near misses share the probe's prefix: they are let through, and read at linear cost.
const URL_NEAR = `${URL_WITHOUT}&sovReq=1&sovCouponCodes=2`;
const COOKIES_NEAR = `${COOKIES_WITHOUT}; sovCoupon=1; xsovReqToken=2`;

const reader = (queryParam = 'sovReqToken') =>
  landingReader({ queryParam, tokens: true, couponCodes: true, browserCookie: true });

describe('the landing probe', () => {
  it('looks for the token and the voucher code in one search of the query and one of the cookies', () => {
    const landing = reader();
    const { result, work } = countWork(() => landing.mayCarry(URL_WITHOUT, COOKIES_WITHOUT));
    expect(result).toBe(false);
    // The search for "?", the probe after it, the probe of the header: each character once.
    expect(work).toBeLessThanOrEqual(URL_WITHOUT.length + COOKIES_WITHOUT.length);
  });

  it('searches once per name when a renamed queryParam shares no prefix with sovCouponCode', () => {
    const landing = reader('ref');
    const { work } = countWork(() => landing.mayCarry(URL_WITHOUT, undefined));
    expect(work).toBeLessThanOrEqual(2 * URL_WITHOUT.length);
  });

  it.each([
    [`/?a=1&sovReqToken=${TEST_TOKEN}`, undefined],
    ['/?sovCouponCode=SUMMER-10', undefined],
    ['/', `a=1; sovReqToken=${TEST_TOKEN}`],
    ['/', 'sovCouponCode=SUMMER-10'],
  ])('lets %s (cookies %s) through to be read', (url, cookies) => {
    expect(reader().mayCarry(url, cookies)).toBe(true);
  });

  it('does linear work on a megabyte of the shared prefix', () => {
    const text = repeatTo('', 'so', MB);
    const probe = probeFor(['sovReqToken', 'sovCouponCode']);
    const { result, work } = countWork(() => probe(text, 0));
    expect(result).toBe(false);
    expect(work).toBeLessThanOrEqual(text.length);
  });

  it('reads both names at linear cost, and stops at a repeated one', () => {
    const url = `/?sovCouponCode=A&sovCouponCode=B&${'sovReqTokenX=1&'.repeat(MB / 16)}`;
    const landing = reader();
    const { result, work } = countWork(() => landing.read(url, undefined, false));
    expect(result.couponCode).toMatchObject({ found: true, ok: false });
    expect(work).toBeLessThanOrEqual(4 * url.length);
  });

  it('finds neither in near misses, at linear cost', () => {
    const landing = reader();
    const { result, work } = countWork(() => landing.read(URL_NEAR, COOKIES_NEAR, true));
    expect(result).toEqual({ token: { found: false }, couponCode: { found: false } });
    expect(work).toBeLessThanOrEqual(4 * (URL_NEAR.length + COOKIES_NEAR.length));
  });
});

describe("the capture's fast path", () => {
  /** A plain Node request, as Connect hands it over, with a session as express-session sets one. */
  function nodeRequest(url: string, cookie: string): IncomingMessage {
    const req = new IncomingMessage(new Socket());
    req.url = url;
    req.headers.cookie = cookie;
    Object.assign(req, { session: {}, sessionID: 'id' });
    return req;
  }

  it.each<[string, Partial<SovendusOptions>]>([
    ['tokens alone', {}],
    ['tokens and voucher links', { coupons: { trafficSourceNumber: 1234 } }],
  ])('costs one search of the query and one of the cookies, with %s', (_, options) => {
    const capture = createSovendus({ productId: PRODUCT_ID, apiKey: 'key', ...options }).capture();
    const req = nodeRequest(URL_WITHOUT, COOKIES_WITHOUT);
    let nexts = 0;
    const { work } = countWork(() => {
      capture(req, new ServerResponse(req), () => (nexts += 1));
    });
    expect(nexts).toBe(1);
    expect(work).toBeLessThanOrEqual(URL_WITHOUT.length + COOKIES_WITHOUT.length);
  });
});
