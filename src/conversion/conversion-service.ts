import { randomUUID } from 'node:crypto';
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
import type {
  DeliverQueued,
  DeliveryQueue,
  DeliveryVerdict,
  QueuedConversion,
} from '../queue/delivery-queue.js';
import { checkToken, maskToken } from '../token.js';
import type {
  CompleteOptions,
  ConversionFailed,
  ConversionResult,
  SendConversionOptions,
  TokenStore,
} from '../types.js';
import type { ConversionApi } from './api-client.js';

export interface ConversionServiceOptions {
  api: ConversionApi;
  /** Already bounded by `boundStore`: its calls end in time and fail as `SovendusStoreError`. */
  store: TokenStore;
  events: SovendusEventHub;
  log: Log;
  ttlSeconds: number;
  /** How long a send claim lives; longer than any send can take, so it never expires mid-send. */
  leaseMs: number;
  /** The product id for `sendConversion` calls that give none (the option, when it is a string). */
  defaultProductId: string | undefined;
  /** Where conversions that fail transiently wait for a later attempt; none: they fail. */
  queue: DeliveryQueue | undefined;
  /** The longest a request waits for the queue, as for the store. */
  storeTimeoutMs: number;
}

export interface ConversionService {
  send(options: SendConversionOptions): Promise<ConversionResult>;
  /**
   * Sends the conversion of the session that `sessionKeyOf` names; it may throw a
   * `SovendusConfigError` (no session middleware), which becomes a `failed` result.
   */
  completeSession(
    sessionKeyOf: () => string | undefined,
    options: CompleteOptions,
  ): Promise<ConversionResult>;
  /** Delivers a conversion from the durable queue. */
  deliverQueued: DeliverQueued;
  /** Resolves when no conversion is in flight, or after `timeoutMs`. */
  idle(timeoutMs: number): Promise<void>;
}

type Delivery = QueuedConversion;
type Facts = Omit<Delivery, 'sessionKey'>;

type Attempt =
  | { kind: 'settled'; result: ConversionResult }
  /** Another sender holds a claim right now; it may still fail. */
  | { kind: 'busy'; result: ConversionResult }
  | { kind: 'failed'; error: SovendusError; attempts: number };

const NO_TOKEN: ConversionResult = Object.freeze({ status: 'no_token' });
const BUSY = new SovendusError(
  'UNAVAILABLE',
  'Another sender holds this conversion right now; it is tried again later.',
  true,
);
const MAX_ORDER_ID_LENGTH = 256;

function normalizeOrderId(orderId: unknown): string | undefined | SovendusConfigError {
  if (orderId === undefined) return undefined;
  const text = typeof orderId === 'number' && Number.isFinite(orderId) ? String(orderId) : orderId;
  if (typeof text === 'string' && text.length > 0 && text.length <= MAX_ORDER_ID_LENGTH) {
    return text;
  }
  return new SovendusConfigError(
    `orderId must be a non-empty string or a finite number of at most ${MAX_ORDER_ID_LENGTH} characters.`,
  );
}

/**
 * The claims that make a conversion go out once: one per token (a token converts once,
 * whoever sends it) and one per order (a double-submitted checkout converts once).
 */
function claimKeys({ token, productId, orderId }: Facts): string[] {
  const keys = [`conversion:${productId}:${token}`];
  if (orderId !== undefined) keys.push(`order:${orderId}`);
  return keys;
}

const factsOf = ({ token, productId, orderId }: Delivery): Facts => ({ token, productId, orderId });

/**
 * Decides the fate of one conversion: validate, claim, call, record, and queue what failed
 * transiently. It is the only place that talks to the store, the API and the queue together,
 * so exactly-once lives here and nowhere else: the request path and the queue's workers both
 * go through `attemptDelivery`.
 */
export function createConversionService(options: ConversionServiceOptions): ConversionService {
  const { api, store, events, log, ttlSeconds, leaseMs, defaultProductId, queue, storeTimeoutMs } =
    options;
  const inFlight = new Set<Promise<unknown>>();

  function track<T>(work: Promise<T>): Promise<T> {
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
    return work;
  }

  function fail(facts: Partial<Facts>, error: SovendusError, attempts: number): ConversionFailed {
    const fields = { code: error.code, status: error.status, token: maskToken(facts.token ?? '') };
    // Retryable trouble is the weather; a non-retryable error means the setup needs a human.
    if (error.retryable) log.warn(fields, `conversion failed: ${error.message}`);
    else log.error(fields, `conversion failed: ${error.message}`);
    events.emit('failed', { stage: 'conversion', error, ...facts });
    return { status: 'failed', error, attempts, ...facts };
  }

  async function release(keys: readonly string[], owner: string): Promise<void> {
    try {
      await store.releaseClaims(keys, owner);
    } catch (error) {
      // Harmless: the lease expires by itself, after which the conversion can be retried.
      log.warn({ err: error }, 'could not release a send claim');
    }
  }

  async function recordSent({ sessionKey, token }: Delivery, keys: readonly string[]) {
    try {
      // One round trip: the claims become "sent" and the session's token goes.
      const consumed = sessionKey === undefined ? undefined : { sessionKey, token };
      await store.completeClaims(keys, ttlSeconds, consumed);
    } catch {
      // The one window where a duplicate is possible: Sovendus accepted, but the store could
      // not record it. Say so loudly; the claims' leases still block resends for a while.
      log.error({ token: maskToken(token) }, 'conversion sent, but not recorded as sent');
    }
  }

  /** Claim, call, record: one attempt, shared by checkouts and queue workers. */
  async function attemptDelivery(delivery: Delivery): Promise<Attempt> {
    const facts = factsOf(delivery);
    const keys = claimKeys(facts);
    const owner = randomUUID();
    let claim;
    try {
      claim = await store.acquireClaims(keys, owner, leaseMs);
    } catch (error) {
      return { kind: 'failed', error: error as SovendusStoreError, attempts: 0 };
    }
    if (claim !== 'acquired') {
      log.debug({ token: maskToken(facts.token), claim }, 'duplicate conversion skipped');
      const result = { status: 'duplicate', ...facts } as const;
      return claim === 'held' ? { kind: 'busy', result } : { kind: 'settled', result };
    }

    const outcome = await api.send(facts.productId, facts.token);
    if (!outcome.ok) {
      await release(keys, owner);
      return { kind: 'failed', error: outcome.error, attempts: outcome.attempts };
    }
    await recordSent(delivery, keys);
    const sent = { status: 'sent', ...facts, attempts: outcome.attempts } as const;
    log.info({ token: maskToken(facts.token), attempts: outcome.attempts }, 'conversion sent');
    events.emit('sent', sent);
    return { kind: 'settled', result: sent };
  }

  /** The request path: what still fails transiently goes to the queue, when there is one. */
  async function deliverNow(delivery: Delivery): Promise<ConversionResult> {
    const attempt = await attemptDelivery(delivery);
    // For a request, a conversion another sender is busy with is a duplicate: it is not ours.
    if (attempt.kind !== 'failed') return attempt.result;
    const facts = factsOf(delivery);
    if (queue !== undefined && attempt.error.retryable) {
      try {
        // The queue lives in Redis too: an outage must not hold the checkout beyond the bound.
        await withDeadline(
          () => queue.enqueue(delivery),
          storeTimeoutMs,
          () => new Error(`the queue did not answer within ${storeTimeoutMs} ms`),
          (error) => (error instanceof Error ? error : new Error(String(error))),
        );
        const { error, attempts } = attempt;
        const queued = { status: 'queued', ...facts, error, attempts } as const;
        log.warn({ token: maskToken(facts.token) }, `conversion queued: ${error.message}`);
        events.emit('queued', queued);
        return queued;
      } catch (error) {
        log.error({ err: error }, 'could not queue a failed conversion');
      }
    }
    return fail(facts, attempt.error, attempt.attempts);
  }

  const deliverQueued: DeliverQueued = async (delivery, { last }) => {
    const attempt = await track(attemptDelivery(delivery));
    if (attempt.kind === 'settled') return { kind: 'done' };
    // The queue must not drop a conversion because someone else is sending it: they may fail.
    const error = attempt.kind === 'busy' ? BUSY : attempt.error;
    if (error.retryable && !last) return { kind: 'retry', error } satisfies DeliveryVerdict;
    const facts = factsOf(delivery);
    log.error(
      { code: error.code, token: maskToken(facts.token) },
      `conversion dead: ${error.message}`,
    );
    events.emit('dead', { ...facts, error });
    return { kind: 'dead', error };
  };

  function send(input: SendConversionOptions, sessionKey?: string): Promise<ConversionResult> {
    const checked = checkToken(input.token);
    if (!checked.ok) {
      return Promise.resolve(fail({}, new SovendusInvalidTokenError(checked.reason), 0));
    }
    const productId = input.productId ?? defaultProductId;
    if (productId === undefined || !isProductId(productId)) {
      const problem =
        productId === undefined
          ? 'sendConversion needs a productId when the productId option is a function'
          : `productId ${PRODUCT_ID_RULE}`;
      return Promise.resolve(
        fail({ token: checked.token }, new SovendusConfigError(`${problem}.`), 0),
      );
    }
    const orderId = normalizeOrderId(input.orderId);
    if (orderId instanceof SovendusConfigError) {
      return Promise.resolve(fail({ token: checked.token, productId }, orderId, 0));
    }
    return track(deliverNow({ token: checked.token, productId, orderId, sessionKey }));
  }

  async function completeSession(
    sessionKeyOf: () => string | undefined,
    { orderId }: CompleteOptions,
  ): Promise<ConversionResult> {
    let sessionKey;
    let entry;
    try {
      sessionKey = sessionKeyOf();
      entry = sessionKey === undefined ? undefined : await store.getToken(sessionKey);
    } catch (error) {
      // A SovendusConfigError from sessionKeyOf, or a SovendusStoreError from the store.
      return fail({}, error as SovendusError, 0);
    }
    if (sessionKey === undefined || entry === undefined) return NO_TOKEN;
    return send({ token: entry.token, productId: entry.productId, orderId }, sessionKey);
  }

  return {
    send: (sendOptions) => send(sendOptions),
    completeSession: (sessionKeyOf, completeOptions) =>
      track(completeSession(sessionKeyOf, completeOptions)),
    deliverQueued,
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
