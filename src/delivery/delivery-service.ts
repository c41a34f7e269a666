import type { ConversionApi } from '../conversion/conversion-api.js';
import type { CouponApi } from '../coupons/coupon-api.js';
import { parseRedemption } from '../coupons/redemption-input.js';
import { isProductId, PRODUCT_ID_RULE } from '../config/fields.js';
import { settledWithin, withDeadline } from '../deadline.js';
import {
  SovendusConfigError,
  SovendusError,
  SovendusInvalidTokenError,
  SovendusStoreError,
  SovendusUnavailableError,
} from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import { normalizeOrderId } from '../order-id.js';
import type {
  DeliverQueued,
  DeliveryQueue,
  DeliveryVerdict,
  QueuedCheckout,
  QueuedConversion,
  QueuedDelivery,
  QueuedRedemption,
} from '../queue/delivery-queue.js';
import { checkToken, maskToken } from '../token.js';
import type {
  CompleteOptions,
  ConsumedToken,
  ConversionFacts,
  ConversionFailed,
  ConversionResult,
  DeliveryDuplicate,
  DeliveryFailed,
  DeliveryQueued,
  DeliverySent,
  RedeemCouponOptions,
  RedemptionFacts,
  RedemptionResult,
  ResendEvent,
  ResendReason,
  SendConversionOptions,
  TokenStore,
} from '../types.js';
import type { ApiOutcome, SendWatcher } from './api-sender.js';
import {
  conversionClaimKeys,
  couponClaimKey,
  createClaimLedger,
  type Claim,
  type Taken,
} from './claim-ledger.js';

export interface DeliveryServiceOptions {
  /** Absent when the shop gave no productId and apiKey: it only redeems coupons. */
  conversionApi: ConversionApi | undefined;
  /** Absent when the shop gave no `coupons` option. */
  couponApi: CouponApi | undefined;
  /** The shop's store; the claim ledger bounds every call it makes. */
  store: TokenStore;
  events: SovendusEventHub;
  log: Log;
  ttlSeconds: number;
  /** How long a send claim lives: longer than any send can take, so it never ends mid-send. */
  leaseMs: number;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
  /** Where deliveries that fail transiently wait for a later attempt; none: they fail. */
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
  /** Whether it captured a token at some time (see `SessionAccess.captured`). */
  captured(): boolean;
}

export interface DeliveryService {
  sendConversion(options: SendConversionOptions): Promise<ConversionResult>;
  /** Sends the conversion of a checkout's session. */
  completeSession(session: CheckoutSession, options: CompleteOptions): Promise<ConversionResult>;
  redeemCoupon(options: RedeemCouponOptions): Promise<RedemptionResult>;
  /** Delivers a conversion or redemption from the durable queue. */
  deliverQueued: DeliverQueued;
  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

type Settled<Facts> = DeliverySent<Facts> | DeliveryDuplicate<Facts>;
type RequestResult<Facts> = Settled<Facts> | DeliveryQueued<Facts> | DeliveryFailed<Facts>;

/** How a send that held the claims ended, once settled. */
type SendResult<Facts> =
  | { kind: 'sent'; result: DeliverySent<Facts> }
  | { kind: 'failed'; outcome: Extract<ApiOutcome, { ok: false }> };

/**
 * What differs between a conversion and a coupon redemption; everything else (claims, retries,
 * the queue, failing open) is the one mechanism below.
 */
interface Kind<Delivery extends QueuedDelivery, Facts> {
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
  recheck(delivery: Delivery): Delivery | DeliveryFailed<Facts>;
  /** The API call; `undefined` when the shop did not configure this kind. */
  send: ((delivery: Delivery, watcher: SendWatcher) => Promise<ApiOutcome>) | undefined;
  /** Why `send` is missing. */
  notConfigured: string;
  sent(result: DeliverySent<Facts>): void;
  queued(result: DeliveryQueued<Facts>): void;
  dead(facts: Facts, error: SovendusError): void;
  failed(facts: Partial<Facts>, error: SovendusError): void;
}

const NO_TOKEN: ConversionResult = Object.freeze({ status: 'no_token' });
const BUSY = new SovendusError(
  'UNAVAILABLE',
  'Another sender holds this delivery right now; it is tried again later.',
  true,
);

/**
 * Decides the fate of each delivery: validate, take its claims, send, settle the claims, and
 * queue what is not settled. Requests and the queue's workers, conversions and coupon
 * redemptions all go through it; what the claims mean lives in `claim-ledger.ts`, and when a
 * call is made again in `api-sender.ts`.
 */
export function createDeliveryService(options: DeliveryServiceOptions): DeliveryService {
  const { conversionApi, couponApi, events, log, leaseMs, queue } = options;
  const { defaultProductId, storeTimeoutMs, waitMs } = options;
  const inFlight = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const settled = () => inFlight.delete(work);
    work.then(settled, settled);
    return work;
  }

  const ledger = createClaimLedger({
    store: options.store,
    storeTimeoutMs,
    leaseMs,
    ttlSeconds: options.ttlSeconds,
    log,
    track: (work) => {
      void track(work);
    },
  });

  const conversion: Kind<QueuedConversion, ConversionFacts> = {
    name: 'conversion',
    noun: 'conversion',
    facts: ({ token, productId, orderId }) => ({ token, productId, orderId }),
    logFields: ({ token }) => ({ token: maskToken(token) }),
    claimKeys: (delivery) => conversionClaimKeys(delivery.orderId)(delivery),
    consumed: ({ sessionKey, token }) =>
      sessionKey === undefined ? undefined : { sessionKey, token },
    recheck: (delivery) => checkConversion(delivery, delivery.sessionKey),
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

  const redemption: Kind<QueuedRedemption, RedemptionFacts> = {
    name: 'redemption',
    noun: 'coupon redemption',
    facts: ({ couponCode, orderId }) => ({ couponCode, orderId }),
    logFields: ({ couponCode }) => ({ couponCode: maskToken(couponCode) }),
    claimKeys: ({ orderId, couponCode }) => [couponClaimKey(orderId, couponCode)],
    consumed: () => undefined,
    recheck: (delivery) => checkRedemption(delivery),
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

  const notConfigured = <D extends QueuedDelivery, F>(kind: Kind<D, F>) =>
    new SovendusConfigError(`${kind.notConfigured}.`);

  function fail<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    facts: Partial<F>,
    logFields: Record<string, unknown>,
    error: SovendusError,
    attempts: number,
  ): DeliveryFailed<F> {
    const fields = { code: error.code, status: error.status, ...logFields };
    // Retryable trouble is the weather; a non-retryable error means the setup needs a human.
    if (error.retryable) log.warn(fields, `${kind.noun} failed: ${error.message}`);
    else log.error(fields, `${kind.noun} failed: ${error.message}`);
    kind.failed(facts, error);
    return { status: 'failed', error, attempts, ...facts };
  }

  function resend<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    reason: ResendReason,
  ): void {
    // Every send that may double an earlier one is said, so that an operator can count them.
    log.warn(
      { ...kind.logFields(delivery), reason },
      `${kind.noun} sent again after an outcome that could not be known (${reason}): Sovendus may count it twice`,
    );
    events.emit('resend', {
      kind: kind.name,
      reason,
      ...kind.facts(delivery),
    } as unknown as ResendEvent);
  }

  /**
   * Hands a delivery to the queue, when there is one, within the store's bound. An add that
   * misses the bound may still land: then it is queued after all, which is logged, not an
   * error. `false`: not confirmed; the caller's result says what that leaves.
   */
  async function enqueue(delivery: QueuedDelivery, delayMs?: number): Promise<boolean> {
    if (queue === undefined) return false;
    try {
      // The queue lives in Redis too: an outage must not hold the request beyond the bound.
      await withDeadline(
        () => queue.enqueue(delivery, { delayMs }),
        storeTimeoutMs,
        (pending) => {
          void track(
            pending.then(
              () => {
                log.info({ kind: delivery.kind }, `${delivery.kind} queued after all (late)`);
              },
              (error: unknown) => {
                log.warn({ err: error }, `${delivery.kind} not queued`);
              },
            ),
          );
          return new Error(`the queue did not answer within ${storeTimeoutMs} ms`);
        },
        (cause) => (cause instanceof Error ? cause : new Error(String(cause))),
      );
      return true;
    } catch (cause) {
      log.warn({ err: cause }, `could not queue a ${delivery.kind} now`);
      return false;
    }
  }

  /** Send with the claims held, then settle them by what the send came to. */
  async function sendAndSettle<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    send: NonNullable<Kind<D, F>['send']>,
    delivery: D,
    claim: Claim,
    watcher: SendWatcher,
  ): Promise<SendResult<F>> {
    if (claim.outcome === 'resumed') resend(kind, delivery, 'resumed');
    const outcome = await send(delivery, watcher);
    if (!outcome.ok) {
      await ledger.settle(claim, outcome.unknown ? 'unknown' : 'not-accepted', undefined);
      return { kind: 'failed', outcome };
    }
    await ledger.settle(claim, 'accepted', kind.consumed(delivery));
    const result = { status: 'sent', ...kind.facts(delivery), attempts: outcome.attempts } as const;
    log.info({ ...kind.logFields(delivery), attempts: outcome.attempts }, `${kind.noun} sent`);
    kind.sent(result);
    return { kind: 'sent', result };
  }

  const watcherFor = <D extends QueuedDelivery, F>(kind: Kind<D, F>, delivery: D) => ({
    attempts: 0,
    resend: (reason: ResendReason) => {
      resend(kind, delivery, reason);
    },
  });

  /** The request path: the shop waits `waitMs` for Sovendus; what is not settled is queued. */
  async function deliverNow<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    taken: Taken,
    /** Whether the caller queued a follow-up already (a checkout's); none: one is queued here. */
    queuedFollowUp?: boolean,
  ): Promise<RequestResult<F>> {
    const facts = kind.facts(delivery);
    /** `confirmQueued`: the queue took it (at once, or as a follow-up left earlier). */
    const queueOrFail = async (
      error: SovendusError,
      attempts: number,
      confirmQueued: () => Promise<boolean>,
    ) => {
      if (error.retryable && (await confirmQueued())) {
        const queued = { status: 'queued', ...facts, error, attempts } as const;
        log.warn(kind.logFields(delivery), `${kind.noun} queued: ${error.message}`);
        kind.queued(queued);
        return queued;
      }
      return fail(kind, facts, kind.logFields(delivery), error, attempts);
    };

    if (taken.outcome === 'failed') return queueOrFail(taken.error, 0, () => enqueue(delivery));
    if (taken.outcome === 'completed' || taken.outcome === 'held') {
      log.debug({ ...kind.logFields(delivery), claim: taken.outcome }, `duplicate ${kind.noun}`);
      // Another sender has it now. Should it die mid-send, nobody would send it: a follow-up
      // looks once its lease has ended (a no-op if it was sent).
      if (taken.outcome === 'held' && !queuedFollowUp) await enqueue(delivery, leaseMs);
      return { status: 'duplicate', ...facts };
    }
    const send = kind.send;
    if (send === undefined) {
      await ledger.release(taken);
      return fail(kind, facts, kind.logFields(delivery), notConfigured(kind), 0);
    }

    // Written ahead of the call: with a queue, a follow-up looks once the claims' lease has
    // ended. Should this process die mid-send, the follow-up sends it (a `resumed` resend);
    // should the call still be going when the request stops waiting, or end unknown, it is
    // what stays queued; in every other case it finds the delivery settled and does nothing.
    // Awaited (within the store's bound), so that no call is out before its follow-up is in.
    const followedUp =
      queuedFollowUp ?? (queue ? await enqueue(delivery, taken.endsAt - Date.now()) : false);
    const watcher = watcherFor(kind, delivery);
    const sending = track(sendAndSettle(kind, send, delivery, taken, watcher));
    const ended = await settledWithin(sending, waitMs);
    if (ended === undefined) {
      // Sovendus has not answered yet, but may: the call goes on (up to sendLimitMs) and its
      // outcome is recorded and emitted when it comes.
      const error = new SovendusUnavailableError(
        `no answer within ${waitMs} ms; the call goes on, and a "sent" event follows if it is taken`,
      );
      return queueOrFail(error, watcher.attempts, () => Promise.resolve(followedUp));
    }
    if (ended.kind === 'sent') return ended.result;
    const { error, attempts, unknown } = ended.outcome;
    // Maybe taken: its claims run out first, and the follow-up looks after them. Surely not
    // taken: it can go again at once.
    return queueOrFail(error, attempts, () =>
      unknown ? Promise.resolve(followedUp) : enqueue(delivery),
    );
  }

  function deadLetter<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    facts: Partial<F>,
    error: SovendusError,
  ): DeliveryVerdict {
    log.error({ code: error.code }, `${kind.noun} dead: ${error.message}`);
    kind.dead(facts as F, error);
    return { kind: 'dead', error };
  }

  async function deliverFromQueue<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    queued: D,
    last: boolean,
  ): Promise<DeliveryVerdict> {
    // A job is input like any other: whoever can write to the queue's Redis could forge one.
    const delivery = kind.recheck(queued);
    if ('status' in delivery) return deadLetter(kind, delivery, delivery.error);
    // A claim that lands late is released; the job's next attempt takes it again.
    const taken = await track(ledger.take(kind.claimKeys(delivery), undefined));
    return sendFromQueue(kind, delivery, taken, last);
  }

  /** Sends what the queue's worker has claimed, and says what the queue should do next. */
  async function sendFromQueue<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    taken: Taken,
    last: boolean,
  ): Promise<DeliveryVerdict> {
    const send = kind.send;
    if (send === undefined) return deadLetter(kind, kind.facts(delivery), notConfigured(kind));
    if (taken.outcome === 'completed') return { kind: 'done' };
    // The queue must not drop a delivery because someone else is sending it: they may fail.
    let error: SovendusError;
    if (taken.outcome === 'held') error = BUSY;
    else if (taken.outcome === 'failed') error = taken.error;
    else {
      const ended = await track(
        sendAndSettle(kind, send, delivery, taken, watcherFor(kind, delivery)),
      );
      if (ended.kind === 'sent') return { kind: 'done' };
      error = ended.outcome.error;
    }
    if (error.retryable && !last) return { kind: 'retry', error };
    return deadLetter(kind, kind.facts(delivery), error);
  }

  /**
   * A checkout's follow-up: the session is read again and whatever token it holds is sent. No
   * token is the usual end (it was sent, or never stored): nothing to do.
   */
  async function followUpCheckout(job: QueuedCheckout, last: boolean): Promise<DeliveryVerdict> {
    const { sessionKey, checkoutAt } = job as Partial<QueuedCheckout>;
    const orderId = job.orderId === undefined ? undefined : normalizeOrderId(job.orderId);
    if (
      typeof sessionKey !== 'string' ||
      sessionKey === '' ||
      typeof checkoutAt !== 'number' ||
      typeof orderId === 'object'
    ) {
      return deadLetter(conversion, {}, new SovendusConfigError('a malformed checkout follow-up.'));
    }
    const found = await track(ledger.takeSession(sessionKey, orderId, undefined));
    if (found instanceof SovendusStoreError) {
      return last ? deadLetter(conversion, {}, found) : { kind: 'retry', error: found };
    }
    if (found === undefined) return { kind: 'done' };
    const delivery = checkConversion({ ...found.entry, orderId }, sessionKey);
    // A token captured after the checkout is a later visit's, which has not ordered yet.
    if ('status' in delivery || found.entry.capturedAt > checkoutAt) {
      if (found.taken.outcome === 'acquired' || found.taken.outcome === 'resumed') {
        await ledger.release(found.taken);
      }
      return { kind: 'done' };
    }
    return sendFromQueue(conversion, delivery, found.taken, last);
  }

  /**
   * Who takes over a delivery whose claims were taken after the request gave up on them: the
   * queue. Without one, nobody: the claims are given back for the next try.
   */
  const handOverTo = (delivery: QueuedDelivery) =>
    queue && (() => enqueue(delivery).then(() => undefined));

  /** A conversion to send, or the failure that says why its input cannot be one. */
  function checkConversion(
    input: SendConversionOptions,
    sessionKey: string | undefined,
  ): QueuedConversion | ConversionFailed {
    const checked = checkToken((input as Partial<SendConversionOptions> | undefined)?.token);
    if (!checked.ok) {
      return fail(conversion, {}, {}, new SovendusInvalidTokenError(checked.reason), 0);
    }
    const { token } = checked;
    const productId = input.productId ?? defaultProductId;
    if (productId === undefined || !isProductId(productId)) {
      const problem =
        productId === undefined
          ? 'sendConversion needs a productId when the productId option is a function'
          : `productId ${PRODUCT_ID_RULE}`;
      const error = new SovendusConfigError(`${problem}.`);
      return fail(conversion, { token }, { token: maskToken(token) }, error, 0);
    }
    const orderId = input.orderId === undefined ? undefined : normalizeOrderId(input.orderId);
    if (typeof orderId === 'object') {
      const error = new SovendusConfigError(`${orderId.problem}.`);
      return fail(conversion, { token, productId }, { token: maskToken(token) }, error, 0);
    }
    return { kind: 'conversion', token, productId, orderId, sessionKey };
  }

  function checkRedemption(
    input: QueuedRedemption,
  ): QueuedRedemption | DeliveryFailed<RedemptionFacts> {
    const parsed = parseRedemption(input);
    if (parsed instanceof SovendusError) return fail(redemption, {}, {}, parsed, 0);
    // The e-mail was hashed before it was queued; the hash is checked as the API would.
    const { emailHash } = input;
    if (emailHash !== undefined && !/^[0-9a-f]{32}$/.test(emailHash)) {
      return fail(redemption, {}, {}, new SovendusConfigError('emailHash is malformed.'), 0);
    }
    return { kind: 'redemption', ...parsed, emailHash };
  }

  async function sendConversion(input: SendConversionOptions): Promise<ConversionResult> {
    const delivery = checkConversion(input, undefined);
    if ('status' in delivery) return delivery;
    const keys = conversion.claimKeys(delivery);
    // A claim that lands after the request gave up is handed to the queue, then released.
    const taken = await ledger.take(keys, handOverTo(delivery));
    return deliverNow(conversion, delivery, taken);
  }

  /**
   * A checkout: the session's token is read and its conversion claimed in one step (one round
   * trip where the store can), then sent as any other.
   */
  async function completeSession(
    session: CheckoutSession,
    options: CompleteOptions,
  ): Promise<ConversionResult> {
    let sessionKey;
    try {
      sessionKey = session.keyOf();
    } catch (error) {
      return fail(conversion, {}, {}, error as SovendusConfigError, 0);
    }
    if (sessionKey === undefined) return NO_TOKEN;
    if (conversion.send === undefined) {
      return fail(conversion, {}, {}, notConfigured(conversion), 0);
    }
    const orderId = options.orderId === undefined ? undefined : normalizeOrderId(options.orderId);
    if (typeof orderId === 'object') {
      return fail(conversion, {}, {}, new SovendusConfigError(`${orderId.problem}.`), 0);
    }
    const deliveryOf = (entry: { token: string; productId: string }) =>
      checkConversion({ ...entry, orderId }, sessionKey);

    // Written before the claims are taken, for a session that captured a token: whatever
    // becomes of this checkout from here (its instance dies, the store fails, the call's
    // outcome is unknown, or a capture that missed its deadline lands after this read), the
    // queue looks at the session again once a lease has passed, and sends what it finds. For
    // every other session (most of a shop's orders) it costs nothing.
    const followedUp =
      queue && session.captured()
        ? await enqueue({ kind: 'checkout', sessionKey, orderId, checkoutAt: Date.now() }, leaseMs)
        : undefined;
    const found = await ledger.takeSession(
      sessionKey,
      orderId,
      queue &&
        (async (entry) => {
          const delivery = deliveryOf(entry);
          if (!('status' in delivery)) await enqueue(delivery);
        }),
    );
    // Without the token there is nothing to queue: it stays stored for the next checkout.
    if (found instanceof SovendusStoreError) return fail(conversion, {}, {}, found, 0);
    if (found === undefined) return NO_TOKEN;
    const delivery = deliveryOf(found.entry);
    if ('status' in delivery) {
      // A stored entry that is not a valid conversion (written by hand, or by an old version).
      if (found.taken.outcome === 'acquired' || found.taken.outcome === 'resumed') {
        await ledger.release(found.taken);
      }
      return delivery;
    }
    return deliverNow(conversion, delivery, found.taken, followedUp);
  }

  async function redeemCoupon(input: RedeemCouponOptions): Promise<RedemptionResult> {
    const parsed = parseRedemption(input);
    if (parsed instanceof SovendusError) return fail(redemption, {}, {}, parsed, 0);
    const delivery: QueuedRedemption = { kind: 'redemption', ...parsed };
    const taken = await ledger.take(redemption.claimKeys(delivery), handOverTo(delivery));
    return deliverNow(redemption, delivery, taken);
  }

  return {
    sendConversion: (input) => track(sendConversion(input)),
    completeSession: (session, completeOptions) => track(completeSession(session, completeOptions)),
    redeemCoupon: (input) => track(redeemCoupon(input)),
    deliverQueued: (delivery, { last }) => {
      switch (delivery.kind) {
        case 'redemption':
          return deliverFromQueue(redemption, delivery, last);
        case 'checkout':
          return followUpCheckout(delivery, last);
        default:
          return deliverFromQueue(conversion, delivery, last);
      }
    },
    async idle(timeoutMs) {
      const drained = (async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      })();
      await settledWithin(drained, timeoutMs);
    },
  };
}
