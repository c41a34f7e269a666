import type { ConversionApi } from '../conversion/conversion-api.js';
import type { CouponApi } from '../coupons/coupon-api.js';
import { parseRedemption } from '../coupons/redemption-input.js';
import { isProductId, PRODUCT_ID_RULE } from '../config/fields.js';
import {
  SovendusConfigError,
  type SovendusError,
  SovendusInvalidTokenError,
  SovendusValidationError,
} from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import { checkOrderId } from '../order-id.js';
import type {
  QueuedConversion,
  QueuedDelivery,
  QueuedRedemption,
} from '../queue/delivery-queue.js';
import { checkToken, maskToken } from '../conversion/token.js';
import type {
  ConsumedToken,
  ConversionFacts,
  DeliveryQueued,
  DeliverySent,
  RedemptionFacts,
  SendConversionOptions,
} from '../types.js';
import type { ApiOutcome, SendWatcher } from '../http/api-sender.js';
import { invalid, valid, type Checked } from '../validity.js';
import { conversionClaimKeys, couponClaimKey } from './claim-ledger.js';

/** Input that cannot be delivered, and why: what a `failed` result and its log line say. */
export interface Rejection<Facts> {
  /** What is known of the delivery. */
  facts: Partial<Facts>;
  /** Log fields, with the token or code shortened. */
  logFields: Record<string, unknown>;
  /** Why it cannot be delivered (`INVALID_INPUT`, `INVALID_TOKEN`...). */
  error: SovendusError;
}

/**
 * What differs between a conversion and a coupon redemption; everything else (claims, retries,
 * the queue, failing open) is one mechanism for both.
 */
export interface Kind<Delivery extends QueuedDelivery, Facts> {
  /** The `kind` its queued deliveries carry. */
  name: Delivery['kind'];
  /** For log lines and messages. */
  noun: string;
  /** What results and events say about it (never a secret, never an e-mail hash). */
  facts(delivery: Delivery): Facts;
  /** Log fields, with the token or code shortened. */
  logFields(delivery: Delivery): Record<string, unknown>;
  /** The claims that make it go out once. */
  claimKeys(delivery: Delivery): string[];
  /** The session token it uses up, deleted once it is accepted. */
  consumed(delivery: Delivery): ConsumedToken | undefined;
  /** Checks a delivery read back from the queue as strictly as a new one. */
  recheck(delivery: Delivery): Checked<Delivery, Rejection<Facts>>;
  /** The API call; `undefined` when the shop did not configure this kind. */
  send: ((delivery: Delivery, watcher: SendWatcher) => Promise<ApiOutcome>) | undefined;
  /** Why `send` is missing. */
  notConfigured: string;
  /** Emits its `sent` event. */
  sent(result: DeliverySent<Facts>): void;
  /** Emits its `queued` event. */
  queued(result: DeliveryQueued<Facts>): void;
  /** Emits its `dead` event. */
  dead(facts: Facts, error: SovendusError): void;
  /** Emits `failed`, with its stage. */
  failed(facts: Partial<Facts>, error: SovendusError): void;
}

/** A conversion, as the delivery mechanism sees it. */
export type ConversionKind = Kind<QueuedConversion, ConversionFacts>;
/** A coupon redemption, as the delivery mechanism sees it. */
export type RedemptionKind = Kind<QueuedRedemption, RedemptionFacts>;

/** A conversion to send, or why its input cannot be one. */
export function checkConversion(
  input: SendConversionOptions,
  sessionKey: string | undefined,
  defaultProductId: string | undefined,
): Checked<QueuedConversion, Rejection<ConversionFacts>> {
  const checked = checkToken((input as Partial<SendConversionOptions> | undefined)?.token);
  if (!checked.ok) {
    return invalid({
      facts: {},
      logFields: {},
      error: new SovendusInvalidTokenError(checked.problem),
    });
  }
  const token = checked.value;
  const logFields = { token: maskToken(token) };
  const productId = input.productId ?? defaultProductId;
  if (productId === undefined || !isProductId(productId)) {
    const problem =
      productId === undefined
        ? 'sendConversion needs a productId when the productId option is a function'
        : `productId ${PRODUCT_ID_RULE}`;
    return invalid({ facts: { token }, logFields, error: new SovendusConfigError(`${problem}.`) });
  }
  const orderId = checkOrderId(input.orderId);
  if (!orderId.ok) {
    const error = new SovendusValidationError([orderId.problem]);
    return invalid({ facts: { token, productId }, logFields, error });
  }
  return valid({ kind: 'conversion', token, productId, orderId: orderId.value, sessionKey });
}

/** A redemption to send (queued, or read back from the queue), or why it cannot be one. */
export function checkRedemption(
  input: QueuedRedemption,
): Checked<QueuedRedemption, Rejection<RedemptionFacts>> {
  const parsed = parseRedemption(input);
  if (!parsed.ok) return invalid({ facts: {}, logFields: {}, error: parsed.problem });
  // The e-mail was hashed before it was queued; the hash is checked as the API would.
  const { emailHash } = input;
  if (emailHash !== undefined && !/^[0-9a-f]{32}$/.test(emailHash)) {
    const error = new SovendusConfigError('emailHash is malformed.');
    return invalid({ facts: {}, logFields: {}, error });
  }
  return valid({ kind: 'redemption', ...parsed.value, emailHash });
}

/** What the two kinds are made from. */
export interface KindsOptions {
  /** Absent when the shop gave no productId and apiKey: it only redeems coupons. */
  conversionApi: ConversionApi | undefined;
  /** Absent when the shop gave no `coupons` option. */
  couponApi: CouponApi | undefined;
  /** Where their events go. */
  events: SovendusEventHub;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
}

/** The two kinds of delivery, with the shop's APIs and event hub. */
export function createKinds(options: KindsOptions): {
  conversion: ConversionKind;
  redemption: RedemptionKind;
} {
  const { conversionApi, couponApi, events, defaultProductId } = options;
  const conversion: ConversionKind = {
    name: 'conversion',
    noun: 'conversion',
    facts: ({ token, productId, orderId }) => ({ token, productId, orderId }),
    logFields: ({ token }) => ({ token: maskToken(token) }),
    claimKeys: (delivery) => conversionClaimKeys(delivery.orderId)(delivery),
    consumed: ({ sessionKey, token }) =>
      sessionKey === undefined ? undefined : { sessionKey, token },
    recheck: (delivery) => checkConversion(delivery, delivery.sessionKey, defaultProductId),
    send:
      conversionApi &&
      (({ productId, token }, watcher) => conversionApi.send(productId, token, watcher)),
    notConfigured: 'conversions need the productId and apiKey options',
    sent: (result) => {
      events.emit('sent', result);
    },
    queued: (result) => {
      events.emit('queued', result);
    },
    dead: (facts, error) => {
      events.emit('dead', { ...facts, error });
    },
    failed: (facts, error) => {
      events.emit('failed', { stage: 'conversion', error, ...facts });
    },
  };
  const redemption: RedemptionKind = {
    name: 'redemption',
    noun: 'coupon redemption',
    facts: ({ couponCode, orderId }) => ({ couponCode, orderId }),
    logFields: ({ couponCode }) => ({ couponCode: maskToken(couponCode) }),
    claimKeys: ({ orderId, couponCode }) => [couponClaimKey(orderId, couponCode)],
    consumed: () => undefined,
    recheck: checkRedemption,
    send: couponApi && ((delivery, watcher) => couponApi.send(delivery, watcher)),
    notConfigured: 'coupon redemption needs the coupons option ({ trafficSourceNumber })',
    sent: (result) => {
      events.emit('redeemed', result);
    },
    queued: (result) => {
      events.emit('redemptionQueued', result);
    },
    dead: (facts, error) => {
      events.emit('redemptionDead', { ...facts, error });
    },
    failed: (facts, error) => {
      events.emit('failed', { stage: 'redemption', error, ...facts });
    },
  };
  return { conversion, redemption };
}

/** The error of a kind the shop did not configure. */
export const notConfigured = <D extends QueuedDelivery, F>(kind: Kind<D, F>): SovendusConfigError =>
  new SovendusConfigError(`${kind.notConfigured}.`);
