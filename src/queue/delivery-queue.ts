import { createHash } from 'node:crypto';
import type { SovendusError } from '../errors.js';

/** A coupon redemption as it is sent and queued: validated, normalized, the e-mail already hashed. */
export interface Redemption {
  /** Trimmed; printable ASCII without spaces. */
  couponCode: string;
  /** The order id, as text. */
  orderId?: string | undefined;
  /** A decimal string with two places, e.g. `"12.30"`. */
  orderValue?: string | undefined;
  /** Upper-case ISO 4217. */
  orderCurrency?: string | undefined;
  /** md5 of the trimmed, lower-cased address: the raw address is never kept. */
  emailHash?: string | undefined;
  /** The call's traffic source number, as digits; none: `coupons.trafficSourceNumber`. */
  trafficSourceNumber?: string | undefined;
  /** The call's traffic medium id; none: `coupons.trafficMediumPublicId`. */
  trafficMediumPublicId?: string | undefined;
}

/** A conversion that failed transiently and waits to be run again later. */
export interface QueuedConversion {
  /** Tells the kinds apart. */
  kind: 'conversion';
  /** The token, validated. */
  token: string;
  /** The product id the token was captured for. */
  productId: string;
  /** The shop's order id, as text. */
  orderId?: string | undefined;
  /** The session whose stored token is deleted once the conversion is accepted. */
  sessionKey?: string | undefined;
}

/** A coupon redemption that failed transiently: validated, the e-mail already hashed. */
export interface QueuedRedemption extends Redemption {
  /** Tells the kinds apart. */
  kind: 'redemption';
  /**
   * The session whose voucher code (from a Sovendus link) this is: the code is deleted from it
   * once the redemption is accepted, unless a newer link replaced it.
   */
  sessionKey?: string | undefined;
}

/**
 * A checkout's follow-up, written before its claims are taken: once a lease has passed, the
 * session is looked at again and whatever token it still holds is sent (its checkout's
 * instance died, its store failed, or a capture that missed its deadline was saved after it).
 */
export interface QueuedCheckout {
  /** Tells the kinds apart. */
  kind: 'checkout';
  /** The session whose token the follow-up reads. */
  sessionKey: string;
  /** The checkout's order id, as text. */
  orderId?: string | undefined;
  /**
   * When the checkout was (ms since the epoch): a token captured later belongs to a later
   * visit, which has not ordered yet, and is not sent.
   */
  checkoutAt: number;
}

/** Whatever the queue holds: every kind travels the same way. */
export type QueuedDelivery = QueuedConversion | QueuedRedemption | QueuedCheckout;

/** How a redemption's {@link deliveryId} begins (a conversion's begins with its product id). */
export const REDEMPTION_ID_PREFIX = 'coupon.';
/** How a checkout follow-up's {@link deliveryId} begins. */
export const CHECKOUT_ID_PREFIX = 'checkout.';

/**
 * The idempotency key of a delivery: a conversion is its token (per product), a redemption its
 * order id and code. A queue keeps one entry per id.
 */
export function deliveryId(delivery: QueuedDelivery): string {
  if (delivery.kind === 'conversion') return `${delivery.productId}.${delivery.token}`;
  // Hashed: session keys, codes and order ids may hold any character, and queue ids may not.
  const [prefix, identity] =
    delivery.kind === 'checkout'
      ? [CHECKOUT_ID_PREFIX, [delivery.sessionKey, delivery.orderId ?? null]]
      : [REDEMPTION_ID_PREFIX, [delivery.orderId ?? null, delivery.couponCode]];
  return `${prefix}${createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 40)}`;
}

/** Options of {@link DeliveryQueue.enqueue}. */
export interface EnqueueOptions {
  /** Milliseconds before its first run: a follow-up. Default: none, at once. */
  delayMs?: number | undefined;
}

/** What one run of a queued delivery came to: drop it, run it again later, or keep it dead. */
export type DeliveryVerdict =
  | { decision: 'done' }
  | { decision: 'retry'; error: SovendusError }
  | { decision: 'dead'; error: SovendusError };

/** What the queue calls to deliver a queued delivery; provided by the Sovendus instance. */
export type DeliverQueued = (
  delivery: QueuedDelivery,
  /** This run of the job: `last` when the queue will not run it again. */
  run: { last: boolean },
) => Promise<DeliveryVerdict>;

/**
 * Keeps conversions and coupon redemptions that failed transiently, durably, and hands them
 * back for delivery until they succeed or their retry window ends. `BullMQDeliveryQueue` (from
 * `sovendus-express/bullmq`) is the implementation the package ships.
 */
export interface DeliveryQueue {
  /**
   * Resolves once the delivery is stored durably; adding one that is already queued (same
   * {@link deliveryId}) is a no-op. With `delayMs` it is a follow-up, not delivered before
   * then (it waits for another sender's lease to end): a queue keeps it apart from the
   * delivery's immediate entry, so that neither stands in for, or holds back, the other.
   */
  enqueue(delivery: QueuedDelivery, options?: EnqueueOptions): Promise<void>;
  /**
   * Starts delivering queued deliveries in this process. May be async: a rejection is logged at
   * error level.
   */
  startWorker(deliver: DeliverQueued): void | Promise<void>;
  /** Stops the worker (letting a running delivery finish) and closes the queue's own connections. */
  close(): Promise<void>;
}
