import { checkCouponCode } from '../coupons/coupon-code.js';
import type { ClaimOutcome, SessionClaims, StoredToken } from '../types.js';

/*
 * What a TokenStore answers is checked before it is used. A custom store is the shop's code:
 * a database client may say "none" with `null`, which is taken as `undefined` is, and a bug may
 * answer anything. Any other answer of the wrong shape throws, and the caller's store deadline
 * turns that into a `SovendusStoreError`: the request fails open, as with a store that is down.
 * The answer itself is never put in the message: it may hold a token.
 */

const OUTCOMES: ReadonlySet<unknown> = new Set<ClaimOutcome>([
  'acquired',
  'resumed',
  'held',
  'completed',
]);

const malformed = (method: string, expected: string) =>
  new Error(`${method} answered something that is not ${expected}`);

/** An entry of the documented shape, copied so that nothing else the store sent is kept. */
function storedToken(value: unknown): StoredToken | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { token, productId, capturedAt } = value as Partial<Record<keyof StoredToken, unknown>>;
  if (typeof token !== 'string' || typeof productId !== 'string') return undefined;
  if (typeof capturedAt !== 'number') return undefined;
  return { token, productId, capturedAt };
}

const isNone = (value: unknown): value is null | undefined => value === undefined || value === null;

/** `getToken`'s answer: an entry, or `undefined` for none (`null` too). */
export function tokenAnswer(value: unknown): StoredToken | undefined {
  if (isNone(value)) return undefined;
  const entry = storedToken(value);
  if (entry === undefined) {
    throw malformed('getToken', 'a StoredToken ({ token, productId, capturedAt }) or none');
  }
  return entry;
}

/**
 * `getCouponCode`'s answer: a voucher code, or `undefined` for none (`null` too). The code goes
 * to Sovendus, into the shop's voucher field and its pages, so it is held to the rule it was
 * saved by, as a code the shop reports is.
 */
export function couponCodeAnswer(value: unknown): string | undefined {
  if (isNone(value)) return undefined;
  const checked = checkCouponCode(value);
  if (!checked.ok) throw malformed('getCouponCode', 'a voucher code or none');
  return checked.value;
}

/** `acquireClaims`'s answer: one of the four outcomes. */
export function claimAnswer(value: unknown): ClaimOutcome {
  if (!OUTCOMES.has(value)) {
    throw malformed('acquireClaims', "'acquired', 'resumed', 'held' or 'completed'");
  }
  return value as ClaimOutcome;
}

/** `acquireSessionClaims`'s answer: an entry and its claim outcome, or `undefined` for none (`null` too). */
export function sessionClaimsAnswer(value: unknown): SessionClaims | undefined {
  if (isNone(value)) return undefined;
  const { entry, claim } = (typeof value === 'object' ? value : {}) as Partial<
    Record<keyof SessionClaims, unknown>
  >;
  const checked = storedToken(entry);
  if (checked === undefined || !OUTCOMES.has(claim)) {
    throw malformed('acquireSessionClaims', '{ entry: StoredToken, claim: ClaimOutcome } or none');
  }
  return { entry: checked, claim: claim as ClaimOutcome };
}
