import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { couponClaimKey, orderClaimKey, tokenClaimKeys } from '../claim-keys.js';
import type { ConversionApi } from '../conversion/conversion-api.js';
import type { CouponApi } from '../coupons/coupon-api.js';
import { parseRedemption } from '../coupons/redemption-input.js';
import { isProductId, PRODUCT_ID_RULE } from '../config/fields.js';
import { withDeadline } from '../deadline.js';
import {
  SovendusConfigError,
  SovendusError,
  SovendusInvalidTokenError,
  type SovendusStoreError,
} from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import { normalizeOrderId } from '../order-id.js';
import type {
  DeliverQueued,
  DeliveryQueue,
  DeliveryVerdict,
  QueuedConversion,
  QueuedDelivery,
  QueuedRedemption,
} from '../queue/delivery-queue.js';
import { stillLanding, type BoundedStore } from '../stores/bounded-store.js';
import { checkToken, maskToken } from '../token.js';
import type {
  ClaimOutcome,
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
  SendConversionOptions,
  SessionClaims,
  StoredToken,
} from '../types.js';
import type { ApiOutcome } from './api-sender.js';
import { backoffDelayMs, RECORD_RETRY } from './retry-policy.js';

export interface DeliveryServiceOptions {
  /** Absent when the shop gave no productId and apiKey: it only redeems coupons. */
  conversionApi: ConversionApi | undefined;
  /** Absent when the shop gave no `coupons` option. */
  couponApi: CouponApi | undefined;
  /** Already bounded by `boundStore`: its calls end in time and fail as `SovendusStoreError`. */
  store: BoundedStore;
  events: SovendusEventHub;
  log: Log;
  ttlSeconds: number;
  /** How long a send claim lives; longer than any send can take, so it never expires mid-send. */
  leaseMs: number;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
  /** Where deliveries that fail transiently wait for a later attempt; none: they fail. */
  queue: DeliveryQueue | undefined;
  /** The longest a request waits for the queue, as for the store. */
  storeTimeoutMs: number;
}

export interface DeliveryService {
  sendConversion(options: SendConversionOptions): Promise<ConversionResult>;
  /**
   * Sends the conversion of the session that `sessionKeyOf` names; it may throw a
   * `SovendusConfigError` (no session middleware), which becomes a `failed` result.
   */
  completeSession(
    sessionKeyOf: () => string | undefined,
    options: CompleteOptions,
  ): Promise<ConversionResult>;
  redeemCoupon(options: RedeemCouponOptions): Promise<RedemptionResult>;
  /** Delivers a conversion or redemption from the durable queue. */
  deliverQueued: DeliverQueued;
  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

type Settled<Facts> = DeliverySent<Facts> | DeliveryDuplicate<Facts>;

/** The claims of a delivery, taken (or not: `outcome` says). */
interface Claim {
  keys: readonly string[];
  owner: string;
  /** When the lease of the claims ends, unless they are completed or released first. */
  leaseEnds: number;
  outcome: ClaimOutcome;
}

const orderClaimKeys = (orderId: string | undefined): string[] =>
  orderId === undefined ? [] : [orderClaimKey(orderId)];

type Attempt<Facts> =
  | { kind: 'settled'; result: Settled<Facts> }
  /** Another sender holds a claim right now; it may still fail. */
  | { kind: 'busy'; result: DeliveryDuplicate<Facts> }
  | { kind: 'failed'; error: SovendusError; attempts: number };

/**
 * What differs between a conversion and a coupon redemption; everything else (claims, retries,
 * the queue, failing open) is the one mechanism below.
 */
interface Kind<Delivery extends QueuedDelivery, Facts> {
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
  /** The API call; `undefined` when the shop did not configure this kind. */
  send: ((delivery: Delivery) => Promise<ApiOutcome>) | undefined;
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
 * Decides the fate of each delivery: validate, claim, call, record, and queue what failed
 * transiently. It is the only place that talks to the store, the APIs and the queue together,
 * so exactly-once lives here and nowhere else: requests and the queue's workers, conversions
 * and coupon redemptions, all go through `attempt`.
 */
export function createDeliveryService(options: DeliveryServiceOptions): DeliveryService {
  const { conversionApi, couponApi, store, events, log, ttlSeconds, leaseMs, queue } = options;
  const { defaultProductId, storeTimeoutMs } = options;
  const inFlight = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    const settled = () => inFlight.delete(work);
    work.then(settled, settled);
    return work;
  }

  const conversion: Kind<QueuedConversion, ConversionFacts> = {
    noun: 'conversion',
    facts: ({ token, productId, orderId }) => ({ token, productId, orderId }),
    logFields: ({ token }) => ({ token: maskToken(token) }),
    // The token's claim first: acquireSessionClaims takes it in that place.
    claimKeys: (delivery) => tokenClaimKeys(delivery, orderClaimKeys(delivery.orderId)),
    consumed: ({ sessionKey, token }) =>
      sessionKey === undefined ? undefined : { sessionKey, token },
    send: conversionApi && (({ productId, token }) => conversionApi.send(productId, token)),
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
    noun: 'coupon redemption',
    facts: ({ couponCode, orderId }) => ({ couponCode, orderId }),
    logFields: ({ couponCode }) => ({ couponCode: maskToken(couponCode) }),
    claimKeys: ({ orderId, couponCode }) => [couponClaimKey(orderId, couponCode)],
    consumed: () => undefined,
    send: couponApi && ((delivery) => couponApi.send(delivery)),
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

  async function release(keys: readonly string[], owner: string): Promise<void> {
    try {
      await store.releaseClaims(keys, owner);
    } catch (error) {
      // Harmless: the lease expires by itself, after which the delivery can be retried.
      log.warn({ err: error }, 'could not release a send claim');
    }
  }

  /** Takes a delivery's claims; a store failure is returned, as the attempt's. */
  async function takeClaims<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
  ): Promise<Claim | SovendusStoreError> {
    const keys = kind.claimKeys(delivery);
    const owner = randomUUID();
    const leaseEnds = Date.now() + leaseMs;
    try {
      return { keys, owner, leaseEnds, outcome: await store.acquireClaims(keys, owner, leaseMs) };
    } catch (error) {
      whenLanded(stillLanding<ClaimOutcome>(error), (outcome) =>
        outcome === 'acquired' ? handOver(delivery, keys, owner) : undefined,
      );
      return error as SovendusStoreError;
    }
  }

  /**
   * A claim that missed its deadline may land after all, and would then hold every other
   * sender off for its lease while nobody sends: a checkout that met it would get `duplicate`
   * and nothing would go out. So, once it lands, the delivery is handed to the queue (when
   * there is one: its worker sends it, paced, rather than a burst of sends as Redis comes
   * back) and the claim released, off the request, which already answered `failed`.
   */
  function whenLanded<T>(
    late: Promise<T> | undefined,
    handle: (landed: T) => Promise<void> | undefined,
  ): void {
    if (late) void track(late.then(handle).catch(() => undefined));
  }

  async function handOver(
    delivery: QueuedDelivery | undefined,
    keys: readonly string[],
    owner: string,
  ): Promise<void> {
    if (delivery !== undefined) await enqueue(delivery);
    await release(keys, owner);
  }

  /** Hands a delivery to the queue, when there is one, within the store's bound. */
  async function enqueue(delivery: QueuedDelivery): Promise<boolean> {
    if (queue === undefined) return false;
    try {
      // The queue lives in Redis too: an outage must not hold the request beyond the bound.
      await withDeadline(
        () => queue.enqueue(delivery),
        storeTimeoutMs,
        () => new Error(`the queue did not answer within ${storeTimeoutMs} ms`),
        (cause) => (cause instanceof Error ? cause : new Error(String(cause))),
      );
      return true;
    } catch (cause) {
      log.error({ err: cause }, `could not queue a ${delivery.kind}`);
      return false;
    }
  }

  /**
   * Claim (unless the caller did), call, record: one attempt, shared by requests and queue
   * workers.
   */
  async function attempt<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    claimed?: Claim,
  ): Promise<Attempt<F>> {
    if (kind.send === undefined) {
      return { kind: 'failed', error: notConfigured(kind), attempts: 0 };
    }
    const facts = kind.facts(delivery);
    const taken = claimed ?? (await takeClaims(kind, delivery));
    if (taken instanceof SovendusError) return { kind: 'failed', error: taken, attempts: 0 };
    const { keys, owner, leaseEnds, outcome: claim } = taken;
    if (claim !== 'acquired') {
      log.debug({ ...kind.logFields(delivery), claim }, `duplicate ${kind.noun} skipped`);
      const result = { status: 'duplicate', ...facts } as const;
      return claim === 'held' ? { kind: 'busy', result } : { kind: 'settled', result };
    }

    const outcome = await kind.send(delivery);
    if (!outcome.ok) {
      await release(keys, owner);
      return { kind: 'failed', error: outcome.error, attempts: outcome.attempts };
    }
    try {
      // One round trip: the claims become "sent" and a session's token goes.
      await store.completeClaims(keys, ttlSeconds, kind.consumed(delivery));
    } catch (error) {
      log.warn(
        { err: error, ...kind.logFields(delivery) },
        `${kind.noun} sent, but not yet recorded as sent: trying again`,
      );
      void track(recordLate(kind, delivery, keys, leaseEnds));
    }
    const sent = { status: 'sent', ...facts, attempts: outcome.attempts } as const;
    log.info({ ...kind.logFields(delivery), attempts: outcome.attempts }, `${kind.noun} sent`);
    kind.sent(sent);
    return { kind: 'settled', result: sent };
  }

  /**
   * Sovendus accepted, but the store could not record it. Until the claims' leases end they
   * keep every other sender out; after that, a queued retry of the same delivery would send it
   * again. So the record is retried, off the request, for as long as the leases last.
   */
  async function recordLate<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    keys: readonly string[],
    leaseEnds: number,
  ): Promise<void> {
    for (let retry = 1; Date.now() < leaseEnds; retry += 1) {
      await sleep(backoffDelayMs(retry, RECORD_RETRY, undefined), undefined, { ref: false });
      try {
        await store.completeClaims(keys, ttlSeconds, kind.consumed(delivery));
        log.info(kind.logFields(delivery), `${kind.noun} recorded as sent`);
        return;
      } catch {
        // Still unreachable: the next try follows.
      }
    }
    // The one window where a duplicate is possible: the store stayed out of reach for longer
    // than the leases. Say so loudly.
    log.error(kind.logFields(delivery), `${kind.noun} sent, but not recorded as sent`);
  }

  /** The request path: what still fails transiently goes to the queue, when there is one. */
  async function deliverNow<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    claimed?: Claim,
  ): Promise<Settled<F> | DeliveryQueued<F> | DeliveryFailed<F>> {
    const result = await attempt(kind, delivery, claimed);
    // For a request, a delivery another sender is busy with is a duplicate: it is not ours.
    if (result.kind !== 'failed') return result.result;
    const facts = kind.facts(delivery);
    const { error, attempts } = result;
    if (error.retryable && (await enqueue(delivery))) {
      const queued = { status: 'queued', ...facts, error, attempts } as const;
      log.warn(kind.logFields(delivery), `${kind.noun} queued: ${error.message}`);
      kind.queued(queued);
      return queued;
    }
    return fail(kind, facts, kind.logFields(delivery), error, attempts);
  }

  async function deliverFromQueue<D extends QueuedDelivery, F>(
    kind: Kind<D, F>,
    delivery: D,
    last: boolean,
  ): Promise<DeliveryVerdict> {
    const result = await track(attempt(kind, delivery));
    if (result.kind === 'settled') return { kind: 'done' };
    // The queue must not drop a delivery because someone else is sending it: they may fail.
    const error = result.kind === 'busy' ? BUSY : result.error;
    if (error.retryable && !last) return { kind: 'retry', error };
    log.error(
      { code: error.code, ...kind.logFields(delivery) },
      `${kind.noun} dead: ${error.message}`,
    );
    kind.dead(kind.facts(delivery), error);
    return { kind: 'dead', error };
  }

  /** A conversion to send, or the failure that says why its input cannot be one. */
  function checkConversion(
    input: SendConversionOptions,
    sessionKey: string | undefined,
  ): QueuedConversion | ConversionFailed {
    const checked = checkToken(input.token);
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

  function sendConversion(input: SendConversionOptions): Promise<ConversionResult> {
    const delivery = checkConversion(input, undefined);
    if ('status' in delivery) return Promise.resolve(delivery);
    return track(deliverNow(conversion, delivery));
  }

  /**
   * A checkout: the session's token is read and its conversion claimed in one step (one round
   * trip where the store can), then sent as any other.
   */
  async function completeSession(
    sessionKeyOf: () => string | undefined,
    options: CompleteOptions,
  ): Promise<ConversionResult> {
    let sessionKey;
    try {
      sessionKey = sessionKeyOf();
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
    const orderKeys = orderClaimKeys(orderId);
    const owner = randomUUID();
    const leaseEnds = Date.now() + leaseMs;
    // What a claimed entry is: its claims, and the conversion it sends (or why it cannot).
    const claimedAs = (entry: StoredToken) => ({
      keys: tokenClaimKeys(entry, orderKeys),
      delivery: checkConversion({ ...entry, orderId }, sessionKey),
    });

    let found;
    try {
      found = await store.acquireSessionClaims(sessionKey, orderKeys, owner, leaseMs);
    } catch (error) {
      whenLanded(stillLanding<SessionClaims | undefined>(error), (landed) => {
        if (landed?.claim !== 'acquired') return undefined;
        const { keys, delivery } = claimedAs(landed.entry);
        return handOver('status' in delivery ? undefined : delivery, keys, owner);
      });
      return fail(conversion, {}, {}, error as SovendusStoreError, 0);
    }
    if (found === undefined) return NO_TOKEN;
    const { entry, claim: outcome } = found;
    const { keys, delivery } = claimedAs(entry);
    if ('status' in delivery) {
      // A stored entry that is not a valid conversion (written by hand, or by an old version).
      if (outcome === 'acquired') await release(keys, owner);
      return delivery;
    }
    return deliverNow(conversion, delivery, { keys, owner, leaseEnds, outcome });
  }

  function redeemCoupon(input: RedeemCouponOptions): Promise<RedemptionResult> {
    const parsed = parseRedemption(input);
    if (parsed instanceof SovendusError) {
      return Promise.resolve(fail(redemption, {}, {}, parsed, 0));
    }
    return track(deliverNow(redemption, { kind: 'redemption', ...parsed }));
  }

  return {
    sendConversion,
    completeSession: (sessionKeyOf, completeOptions) =>
      track(completeSession(sessionKeyOf, completeOptions)),
    redeemCoupon,
    deliverQueued: (delivery, { last }) =>
      delivery.kind === 'redemption'
        ? deliverFromQueue(redemption, delivery, last)
        : deliverFromQueue(conversion, delivery, last),
    async idle(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
        timer.unref();
      });
      const drained = (async () => {
        while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      })();
      await Promise.race([drained, deadline]);
      clearTimeout(timer);
    },
  };
}
