import type { ConversionApi } from '../conversion/conversion-api.js';
import type { CouponApi } from '../coupons/coupon-api.js';
import { checkConversion } from '../conversion/conversion-input.js';
import { parseRedemption } from '../coupons/redemption-input.js';
import { settledWithin } from '../deadline.js';
import {
  type SovendusConfigError,
  type SovendusError,
  SovendusStoreError,
  SovendusValidationError,
} from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import { checkOrderId } from '../order-id.js';
import type {
  DeliverQueued,
  DeliveryQueue,
  QueuedDelivery,
  QueuedRedemption,
} from '../queue/delivery-queue.js';
import type {
  CompleteOptions,
  CompleteOrderOptions,
  CompleteOrderResult,
  ConversionResult,
  RedeemCouponOptions,
  RedemptionResult,
  SendConversionOptions,
  StoredToken,
  TokenStore,
} from '../types.js';
import { createClaimLedger, type ConsumedCouponCode } from './claim-ledger.js';
import { createCompleteOrder } from './complete-order.js';
import { createEnqueue } from './enqueue.js';
import { createTraits, notConfigured } from './traits.js';
import { createDeliverQueued } from './queue-delivery.js';
import { createReport } from './report.js';
import { createDeliverNow } from './request-delivery.js';
import { createSendAndSettle } from './send-and-settle.js';

/** Everything the delivery service is wired from. */
export interface DeliveryServiceOptions {
  /** Absent when the shop gave no productId and apiKey: it only redeems coupons. */
  conversionApi: ConversionApi | undefined;
  /** Absent when the shop gave no `coupons` option. */
  couponApi: CouponApi | undefined;
  /** The shop's store; the claim ledger bounds every call it makes. */
  store: TokenStore;
  /** Where results are emitted as events. */
  events: SovendusEventHub;
  /** The shop's logger, made safe. */
  log: Log;
  /** How long "sent" records are kept, in seconds. */
  ttlSeconds: number;
  /** How long a send claim lives: longer than any send can take, so it never ends mid-send. */
  leaseMs: number;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
  /** Where deliveries that fail transiently wait to be run again later; none: they fail. */
  queue: DeliveryQueue | undefined;
  /** The longest a request waits for one store or queue call. */
  storeTimeoutMs: number;
  /** The longest a request waits for Sovendus (`timeoutMs`); the call itself may go on. */
  waitMs: number;
}

/** The session a checkout belongs to. */
export interface CheckoutSession {
  /** Its store key; may throw a `SovendusConfigError` (no session middleware): `failed`. */
  keyOf(): string | undefined;
  /** Whether it captured a token or voucher code at some time (see `SessionAccess.captured`). */
  captured(): boolean;
  /**
   * The voucher code it kept from a Sovendus link, with its key, or `undefined`. Never
   * rejects: a code that cannot be read is none (and reported as such by the request).
   */
  capturedCouponCode(): Promise<ConsumedCouponCode | undefined>;
}

/** The three entry points a shop calls, the queue's, and `idle()` for `close()`. */
export interface DeliveryService {
  /** `sovendus.sendConversion()`. Never rejects. */
  sendConversion(options: SendConversionOptions): Promise<ConversionResult>;
  /** Sends the conversion of a checkout's session. */
  completeSession(session: CheckoutSession, options: CompleteOptions): Promise<ConversionResult>;
  /** Sends a checkout's conversion and redeems its order's codes, side by side. Never rejects. */
  completeOrder(
    session: CheckoutSession,
    order: CompleteOrderOptions,
  ): Promise<CompleteOrderResult>;
  /** `sovendus.redeemCoupon()`. Never rejects. */
  redeemCoupon(options: RedeemCouponOptions): Promise<RedemptionResult>;
  /** Delivers a conversion or redemption from the durable queue. */
  deliverQueued: DeliverQueued;
  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

/**
 * Every delivery, read top to bottom: validate (`conversion/conversion-input.ts`,
 * `coupons/redemption-input.ts`), take its claims (`claim-ledger.ts`), send and settle them
 * (`send-and-settle.ts`, through `traits.ts` to the kind's API, with retries decided in
 * `http/api-sender.ts`), and queue what is not settled (`request-delivery.ts` for a shop's
 * request, `queue-delivery.ts` for the queue's worker). This file wires them and holds the
 * three entry points a shop calls.
 */
export function createDeliveryService(options: DeliveryServiceOptions): DeliveryService {
  const { log, leaseMs, queue, defaultProductId, storeTimeoutMs, waitMs } = options;
  const inFlight = new Set<Promise<unknown>>();

  /** Keeps work in view of `idle()`, so that a shutdown waits for it. */
  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const settled = () => inFlight.delete(work);
    work.then(settled, settled);
    return work;
  }
  const trackVoid = (work: Promise<unknown>) => {
    void track(work);
  };

  const ledger = createClaimLedger({
    store: options.store,
    storeTimeoutMs,
    leaseMs,
    ttlSeconds: options.ttlSeconds,
    log,
    track: trackVoid,
  });
  const { conversion, redemption } = createTraits(options);
  const report = createReport(log, options.events);
  const sendAndSettle = createSendAndSettle(ledger, report, log);
  const enqueue = queue && createEnqueue(queue, storeTimeoutMs, log, trackVoid);
  const deliverNow = createDeliverNow({
    ledger,
    report,
    sendAndSettle,
    enqueue,
    track,
    leaseMs,
    waitMs,
  });

  /**
   * Who takes over a delivery whose claims were taken after the request gave up on them: the
   * queue. Without one, nobody: the claims are given back for the next try.
   */
  const queueLateClaim = (delivery: QueuedDelivery) =>
    enqueue && (() => enqueue(delivery).then(() => undefined));

  async function sendConversion(input: SendConversionOptions): Promise<ConversionResult> {
    const checked = checkConversion(input, undefined, defaultProductId);
    if (!checked.ok) return report.failed(conversion, checked.problem, 0);
    const delivery = checked.value;
    // A claim answered after the request gave up is handed to the queue, then released.
    const taken = await ledger.take(conversion.claimKeys(delivery), queueLateClaim(delivery));
    return deliverNow(conversion, delivery, taken);
  }

  /**
   * A checkout: the session's token is read and its conversion claimed in one step (one round
   * trip where the store can), then sent as any other.
   */
  async function completeSession(
    session: CheckoutSession,
    completeOptions: CompleteOptions,
  ): Promise<ConversionResult> {
    const failed = (error: SovendusError) =>
      report.failed(conversion, { facts: {}, logFields: {}, error }, 0);
    let sessionKey;
    try {
      sessionKey = session.keyOf();
    } catch (error) {
      return failed(error as SovendusConfigError);
    }
    if (sessionKey === undefined) return report.noToken();
    if (conversion.send === undefined) return failed(notConfigured(conversion));
    const checkedOrderId = checkOrderId(completeOptions.orderId);
    if (!checkedOrderId.ok) return failed(new SovendusValidationError([checkedOrderId.problem]));
    const orderId = checkedOrderId.value;
    const deliveryOf = (entry: StoredToken) =>
      checkConversion({ ...entry, orderId }, sessionKey, defaultProductId);

    // Written before the claims are taken, for a session that captured a token: whatever
    // becomes of this checkout from here (its instance dies, the store fails, the call's
    // outcome is unknown, or a capture that missed its deadline is saved after this read), the
    // queue looks at the session again once a lease has passed, and sends what it finds. For
    // every other session (most of a shop's orders) it costs nothing.
    const followedUp =
      enqueue && session.captured()
        ? await enqueue({ kind: 'checkout', sessionKey, orderId, checkoutAt: Date.now() }, leaseMs)
        : undefined;
    const found = await ledger.takeSession(
      sessionKey,
      orderId,
      enqueue &&
        (async (entry) => {
          const delivery = deliveryOf(entry);
          if (delivery.ok) await enqueue(delivery.value);
        }),
    );
    // Without the token there is nothing to queue: it stays stored for the next checkout.
    if (found instanceof SovendusStoreError) return failed(found);
    if (found === undefined) return report.noToken();
    const delivery = deliveryOf(found.entry);
    if (!delivery.ok) {
      // A stored entry that is not a valid conversion (written by hand, or by an old version).
      if (found.taken.outcome === 'acquired' || found.taken.outcome === 'resumed') {
        await ledger.release(found.taken);
      }
      return report.failed(conversion, delivery.problem, 0);
    }
    return deliverNow(conversion, delivery.value, found.taken, followedUp);
  }

  /** `sessionKey`: of the session whose voucher code this is, deleted from it once sent. */
  async function redeemCoupon(
    input: RedeemCouponOptions,
    sessionKey?: string,
  ): Promise<RedemptionResult> {
    const parsed = parseRedemption(input);
    if (!parsed.ok) {
      return report.failed(redemption, { facts: {}, logFields: {}, error: parsed.problem }, 0);
    }
    const delivery: QueuedRedemption = { kind: 'redemption', ...parsed.value, sessionKey };
    const taken = await ledger.take(redemption.claimKeys(delivery), queueLateClaim(delivery));
    return deliverNow(redemption, delivery, taken);
  }

  const completeOrder = createCompleteOrder<CheckoutSession>({
    // A shop without conversions (coupons only) has no session token to send: `no_token`.
    completeSession: conversion.send && completeSession,
    redeemCoupon: redemption.send && redeemCoupon,
    capturedCouponCode: (session) => session.capturedCouponCode(),
    failConversion: (error) => report.failed(conversion, { facts: {}, logFields: {}, error }, 0),
    failRedemption: (couponCode, error) =>
      report.failed(
        redemption,
        { facts: couponCode === undefined ? {} : { couponCode }, logFields: {}, error },
        0,
      ),
  });

  return {
    sendConversion: (input) => track(sendConversion(input)),
    completeSession: (session, completeOptions) => track(completeSession(session, completeOptions)),
    redeemCoupon: (input) => track(redeemCoupon(input)),
    completeOrder: (session, order) => track(completeOrder(session, order)),
    deliverQueued: createDeliverQueued({
      conversion,
      redemption,
      ledger,
      report,
      sendAndSettle,
      track,
      defaultProductId,
    }),
    async idle(timeoutMs) {
      const drained = (async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      })();
      await settledWithin(drained, timeoutMs);
    },
  };
}
