import { createHash } from 'node:crypto';
import type { z } from 'zod';
import { trafficMediumPublicIdField, trafficSourceNumberField } from '../config/fields.js';
import type { Rejection } from '../delivery/rejection.js';
import { SovendusConfigError, SovendusValidationError } from '../errors.js';
import type { QueuedRedemption, Redemption } from '../queue/delivery-queue.js';
import type { RedeemCouponOptions, RedemptionFacts } from '../types.js';
import { checkOrderId } from '../order-id.js';
import { checkCouponCode } from './coupon-code.js';
import { invalid, valid, type Checked } from '../validity.js';

const DECIMAL = /^\d{1,12}(\.\d{1,2})?$/;
const MAX_ORDER_VALUE = 1e12;
const CURRENCIES = new Set(Intl.supportedValuesOf('currency'));
const MAX_EMAIL_LENGTH = 254;
const isEmailHash = (value: unknown): value is string =>
  typeof value === 'string' && /^[0-9a-f]{32}$/.test(value);
const isSessionKey = (value: unknown): value is string => typeof value === 'string' && value !== '';

/** Money is net value, at most two decimal places, as a string or a number; sent as a string. */
function checkOrderValue(value: unknown): Checked<string> {
  const problem =
    'orderValue must be a non-negative amount with at most 2 decimal places, e.g. "12.34" or 12.34';
  if (typeof value === 'number') {
    const cents = Math.round(value * 100);
    // 0.1 + 0.2 is not an amount of money: a number must be exact to the cent.
    if (!Number.isFinite(value) || value < 0 || value >= MAX_ORDER_VALUE || cents / 100 !== value) {
      return invalid(problem);
    }
    return valid(value.toFixed(2));
  }
  if (typeof value === 'string' && DECIMAL.test(value.trim())) {
    return valid(Number(value.trim()).toFixed(2));
  }
  return invalid(problem);
}

function checkCurrency(currency: unknown): Checked<string> {
  const code = typeof currency === 'string' ? currency.trim().toUpperCase() : '';
  if (/^[A-Z]{3}$/.test(code) && CURRENCIES.has(code)) return valid(code);
  return invalid('orderCurrency must be an ISO 4217 currency code such as "EUR"');
}

function checkEmail(email: unknown): Checked<string> {
  const normalized = typeof email === 'string' ? email.trim().toLowerCase() : '';
  const at = normalized.indexOf('@');
  if (at < 1 || at === normalized.length - 1 || normalized.length > MAX_EMAIL_LENGTH) {
    // The message never repeats the address: it is personal data.
    return invalid('email must be an e-mail address (it is sent only as an md5 hash)');
  }
  return valid(createHash('md5').update(normalized).digest('hex'));
}

/**
 * A per-call traffic setting, by the rule of its `coupons` option (config/fields.ts), so that a
 * call accepts exactly what the option does; none stays `undefined` (the option's is used).
 */
function checkOverride<T>(
  field: z.ZodType<T>,
  name: string,
  value: unknown,
): Checked<T | undefined> {
  if (value === undefined) return valid(undefined);
  const parsed = field.safeParse(value);
  return parsed.success
    ? valid(parsed.data)
    : invalid(`${name} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
}

/**
 * Validates a redemption before anything is sent or stored, and collects every problem into
 * one `SovendusValidationError`, so a shop fixes its call once.
 */
export function parseRedemption(
  input: RedeemCouponOptions,
): Checked<Redemption, SovendusValidationError> {
  // Typed for TypeScript callers; checked as unknown for JavaScript ones.
  const raw: unknown = input;
  const given = (typeof raw === 'object' && raw !== null ? raw : {}) as Partial<
    Record<keyof RedeemCouponOptions, unknown>
  >;
  const problems: string[] = [];
  const take = <T>(check: Checked<T>): T | undefined => {
    if (check.ok) return check.value;
    problems.push(check.problem);
    return undefined;
  };

  const couponCode = take(checkCouponCode(given.couponCode));
  const orderId = take(checkOrderId(given.orderId));
  const hasValue = given.orderValue !== undefined;
  const hasCurrency = given.orderCurrency !== undefined;
  if (hasValue !== hasCurrency) {
    problems.push('orderValue and orderCurrency go together: give both or neither');
  }
  const orderValue = hasValue ? take(checkOrderValue(given.orderValue)) : undefined;
  const orderCurrency = hasCurrency ? take(checkCurrency(given.orderCurrency)) : undefined;
  const emailHash = given.email === undefined ? undefined : take(checkEmail(given.email));
  const trafficSourceNumber = take(
    checkOverride(trafficSourceNumberField, 'trafficSourceNumber', given.trafficSourceNumber),
  );
  const trafficMediumPublicId = take(
    checkOverride(trafficMediumPublicIdField, 'trafficMediumPublicId', given.trafficMediumPublicId),
  );

  if (problems.length > 0 || couponCode === undefined) {
    return invalid(new SovendusValidationError(problems));
  }
  return valid({
    couponCode,
    orderId,
    orderValue,
    orderCurrency,
    emailHash,
    trafficSourceNumber,
    trafficMediumPublicId,
  });
}

/** A redemption to send (queued, or read back from the queue), or why it cannot be one. */
export function checkRedemption(
  input: QueuedRedemption,
): Checked<QueuedRedemption, Rejection<RedemptionFacts>> {
  const parsed = parseRedemption(input);
  if (!parsed.ok) return invalid({ facts: {}, logFields: {}, error: parsed.problem });
  // The e-mail was hashed before it was queued; the hash is checked as the API would. A store
  // key is made of the session key: a non-empty string, nothing else.
  const { emailHash, sessionKey } = input as Partial<Record<keyof QueuedRedemption, unknown>>;
  const malformed = (name: string) =>
    invalid({ facts: {}, logFields: {}, error: new SovendusConfigError(`${name} is malformed.`) });
  if (emailHash !== undefined && !isEmailHash(emailHash)) return malformed('emailHash');
  if (sessionKey !== undefined && !isSessionKey(sessionKey)) return malformed('sessionKey');
  return valid({ kind: 'redemption', ...parsed.value, emailHash, sessionKey });
}
