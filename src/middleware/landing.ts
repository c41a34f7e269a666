import { checkToken } from '../conversion/token.js';
import { checkCouponCode } from '../coupons/coupon-code.js';
import { checkFound, invalid, type Checked, type Found } from '../validity.js';
import { COUPON_COOKIE, TOKEN_COOKIE } from './expire-cookies.js';
import { probeFor } from './landing-probe.js';
import { readQueryParam, readQueryToken } from './query-token.js';
import { readCookie } from './request-cookie.js';

/** The parameter of a Sovendus voucher link; the browser script keeps it as a cookie of that name. */
export const COUPON_PARAM = COUPON_COOKIE;

/** One thing a landing carries: absent, or found (in the query, or in a cookie) and checked. */
export type Carried = { found: false } | ({ found: true; fromCookie: boolean } & Checked<string>);

/** What a request carries for the session: a token, a voucher code, or neither. */
export interface Landing {
  token: Carried;
  couponCode: Carried;
}

/** What is looked for, by the Sovendus instance's options. */
export interface LandingOptions {
  /** The `queryParam` option: the token's query parameter. */
  queryParam: string;
  /** Whether tokens are captured: the shop has conversions. */
  tokens: boolean;
  /** Whether voucher links are kept: the `coupons` option, with a store that keeps codes. */
  couponCodes: boolean;
  /** The `browserCookie` option: the browser script's cookies are read too. */
  browserCookie: boolean;
}

/** Reads a landing: `mayCarry` on every request, `read` on the few it lets through. */
export interface LandingReader {
  /**
   * The fast path: whether the request may carry a token or a voucher code, in its query or
   * its cookies. One substring search of the query (after the search for `?`) and one of the
   * Cookie header, whether one name is looked for or two (see `probeFor`).
   */
  mayCarry(url: string, cookieHeader: string | undefined): boolean;
  /**
   * What the request carries. Its query wins over its cookies; the cookies are read only when
   * `readCookies` (a session that holds neither yet, as the capture tells).
   */
  read(url: string, cookieHeader: string | undefined, readCookies: boolean): Landing;
}

const ABSENT: Carried = { found: false };

/** Where an already checked value was found. A literal, not a spread: every tokened landing. */
const carried = (found: Found, fromCookie: boolean): Carried => {
  if (!found.found) return ABSENT;
  return found.ok
    ? { found: true, fromCookie, ok: true, value: found.value }
    : { found: true, fromCookie, ok: false, problem: found.problem };
};

/** A voucher code's reading problem (repeated, bad encoding...) names where it was found. */
const named = (where: string, found: Found): Found =>
  !found.found || found.ok ? found : { found: true, ...invalid(`${where}: ${found.problem}`) };

/** Where a voucher code was found, as `rejected` names it. */
const IN_COOKIE = `the ${COUPON_COOKIE} cookie`;

/**
 * A voucher code, checked by redeemCoupon's rule. Its problems name where it was found, so that
 * `rejected` tells it from the token's (whose problems are said as they were before).
 */
const codeFrom = (found: Found, fromCookie: boolean): Carried => {
  const where = fromCookie ? IN_COOKIE : COUPON_PARAM;
  const check = (value: string) => checkCouponCode(value, where);
  return carried(checkFound(named(where, found), check), fromCookie);
};

/** The landing reader of a Sovendus instance: what it looks for is fixed at set-up. */
export function landingReader(options: LandingOptions): LandingReader {
  const { queryParam, tokens, couponCodes, browserCookie } = options;
  const inQuery = probeFor([
    ...(tokens ? [queryParam] : []),
    ...(couponCodes ? [COUPON_PARAM] : []),
  ]);
  const inCookies = probeFor(
    browserCookie
      ? [...(tokens ? [TOKEN_COOKIE] : []), ...(couponCodes ? [COUPON_COOKIE] : [])]
      : [],
  );
  return {
    mayCarry(url, cookieHeader) {
      const queryStart = url.indexOf('?');
      return (
        (queryStart !== -1 && inQuery(url, queryStart + 1)) ||
        (cookieHeader !== undefined && inCookies(cookieHeader, 0))
      );
    },
    read(url, cookieHeader, readCookies) {
      let token = tokens ? carried(readQueryToken(url, queryParam), false) : ABSENT;
      let couponCode = couponCodes ? codeFrom(readQueryParam(url, COUPON_PARAM), false) : ABSENT;
      if (browserCookie && readCookies) {
        if (tokens && !token.found) {
          token = carried(checkFound(readCookie(cookieHeader, TOKEN_COOKIE), checkToken), true);
        }
        if (couponCodes && !couponCode.found) {
          couponCode = codeFrom(readCookie(cookieHeader, COUPON_COOKIE), true);
        }
      }
      return { token, couponCode };
    },
  };
}
