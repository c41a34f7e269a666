import { checkConversion } from '../conversion/conversion-input.js';
import type { ConversionApi } from '../conversion/conversion-api.js';
import { maskToken } from '../conversion/token.js';
import type { CouponApi } from '../coupons/coupon-api.js';
import { checkRedemption } from '../coupons/redemption-input.js';
import { SovendusConfigError, type SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { ApiOutcome, SendWatcher } from '../http/api-sender.js';
import type {
  QueuedConversion,
  QueuedDelivery,
  QueuedRedemption,
} from '../queue/delivery-queue.js';
import type { ConversionFacts, DeliveryQueued, DeliverySent, RedemptionFacts } from '../types.js';
import type { Checked } from '../validity.js';
import { conversionClaimKeys, couponClaimKey, type UsedUp } from './claim-ledger.js';
import type { Rejection } from './rejection.js';

/**
 * What differs between a conversion and a coupon redemption; everything else (claims, retries,
 * the queue, failing open) is one mechanism for both.
 */
export interface DeliveryTraits<Delivery extends QueuedDelivery, Facts> {
  /** The `kind` its queued deliveries carry. */
  kind: Delivery['kind'];
  /** For log lines and messages. */
  noun: string;
  /** What results and events say about it (never a secret, never an e-mail hash). */
  facts(delivery: Delivery): Facts;
  /** Log fields, with the token or code shortened. */
  logFields(delivery: Delivery): Record<string, unknown>;
  /** The claims that make it go out once. */
  claimKeys(delivery: Delivery): string[];
  /** What it uses up in its session (a token, a voucher code), deleted once it is accepted. */
  consumed(delivery: Delivery): UsedUp | undefined;
  /** Checks a delivery read back from the queue as strictly as a new one. */
  recheck(delivery: Delivery): Checked<Delivery, Rejection<Facts>>;
  /** The API call; `undefined` when the shop did not configure this traits. */
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
export type ConversionTraits = DeliveryTraits<QueuedConversion, ConversionFacts>;
/** A coupon redemption, as the delivery mechanism sees it. */
export type RedemptionTraits = DeliveryTraits<QueuedRedemption, RedemptionFacts>;

/** What the traits of the two kinds of delivery are made from. */
export interface TraitsOptions {
  /** Absent when the shop gave no productId and apiKey: it only redeems coupons. */
  conversionApi: ConversionApi | undefined;
  /** Absent when the shop gave no `coupons` option. */
  couponApi: CouponApi | undefined;
  /** Where their events go. */
  events: SovendusEventHub;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
}

/** The traits of the two kinds of delivery, with the shop's APIs and event hub. */
export function createTraits(options: TraitsOptions): {
  conversion: ConversionTraits;
  redemption: RedemptionTraits;
} {
  const { conversionApi, couponApi, events, defaultProductId } = options;
  const conversion: ConversionTraits = {
    kind: 'conversion',
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
  const redemption: RedemptionTraits = {
    kind: 'redemption',
    noun: 'coupon redemption',
    facts: ({ couponCode, orderId }) => ({ couponCode, orderId }),
    logFields: ({ couponCode }) => ({ couponCode: maskToken(couponCode) }),
    claimKeys: ({ orderId, couponCode }) => [couponClaimKey(orderId, couponCode)],
    consumed: ({ sessionKey, couponCode }) =>
      sessionKey === undefined ? undefined : { sessionKey, couponCode },
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

/** The error of a delivery the shop did not configure (no API for it). */
export const notConfigured = <D extends QueuedDelivery, F>(
  traits: DeliveryTraits<D, F>,
): SovendusConfigError => new SovendusConfigError(`${traits.notConfigured}.`);
