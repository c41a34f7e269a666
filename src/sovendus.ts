import type { IncomingMessage } from 'node:http';
import { refuseAsync } from './callbacks.js';
import { createCaptureMiddleware } from './middleware/capture-middleware.js';
import { isProductId, PRODUCT_ID_RULE } from './config/fields.js';
import { resolveOptions, type ResolvedOptions } from './config/options.js';
import { createConversionApi } from './conversion/conversion-api.js';
import { createCouponApi } from './coupons/coupon-api.js';
import { createApiSender } from './http/api-sender.js';
import { createDeliveryService } from './delivery/delivery-service.js';
import { settledWithin } from './deadline.js';
import { SovendusConfigError } from './errors.js';
import { SovendusEventHub } from './events.js';
import { createLog } from './logging.js';
import { checkoutFailure } from './middleware/checkout-failure.js';
import { consentCheck } from './middleware/consent.js';
import { createConvertMiddleware } from './middleware/convert-middleware.js';
import { chooseProductId } from './middleware/landing-product.js';
import { attachAndGetRequestContext, attachRequestContext } from './middleware/attach-context.js';
import type { RequestContextDeps } from './middleware/request-context.js';
import { sessionAccess } from './middleware/session.js';
import { boundStore } from './stores/bounded-store.js';
import { MemoryTokenStore } from './stores/memory-store.js';
import { createStoreBreaker } from './stores/store-breaker.js';
import { createTelemetry } from './telemetry/telemetry.js';
import type {
  ConvertOptions,
  Middleware,
  Sovendus,
  SovendusLogger,
  SovendusOptions,
  TokenStore,
} from './types.js';

/** Extra life for a send claim beyond the longest possible send: pauses, clock skew, GC. */
const LEASE_MARGIN_MS = 10_000;

/**
 * How long a sender holds a delivery's claims: the claim's own store call, then attempts that
 * may begin until the wait (`timeoutMs`) ends, the last of which lives up to `sendLimitMs`,
 * then the record; plus a margin. No send outlives its lease, so two never overlap.
 */
const leaseMsFor = (config: ResolvedOptions): number =>
  2 * config.storeTimeoutMs + config.timeoutMs + config.sendLimitMs + LEASE_MARGIN_MS;

let warnedAboutMemoryStore = false;

const MEMORY_STORE_WARNING =
  'the in-memory token store is used in production: tokens are lost on restart and not ' +
  'shared between instances. Pass store: new RedisTokenStore({ client }).';

/** Once per process: to the shop's logger when it has one, else as a Node process warning. */
function warnIfMemoryStoreInProduction(store: TokenStore, logger: SovendusLogger | undefined) {
  if (warnedAboutMemoryStore || process.env.NODE_ENV !== 'production') return;
  if (!(store instanceof MemoryTokenStore)) return;
  warnedAboutMemoryStore = true;
  if (typeof logger?.warn === 'function') {
    createLog(logger).warn({ code: 'SOVENDUS_MEMORY_STORE' }, MEMORY_STORE_WARNING);
  } else {
    process.emitWarning(`sovendus-express: ${MEMORY_STORE_WARNING}`, {
      type: 'SovendusWarning',
      code: 'SOVENDUS_MEMORY_STORE',
    });
  }
}

function productIdResolver(productId: NonNullable<ResolvedOptions['productId']>) {
  if (typeof productId === 'string') return () => productId;
  return (req: IncomingMessage): string => {
    let value: unknown;
    try {
      value = productId(req);
    } catch (error) {
      throw new SovendusConfigError(
        `productId(req) threw: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    refuseAsync(value, 'productId', 'the product id');
    if (!isProductId(value)) {
      throw new SovendusConfigError(
        `productId(req) returned a product id that ${PRODUCT_ID_RULE}.`,
      );
    }
    return value as string;
  };
}

/**
 * Creates the Sovendus integration for a shop. Validates every option now and throws a
 * `SovendusConfigError` that names each bad one.
 *
 * @typeParam Req - The request type of the shop's callbacks, see {@link SovendusOptions}.
 */
export function createSovendus<Req extends IncomingMessage = IncomingMessage>(
  options: SovendusOptions<Req>,
): Sovendus<Req> {
  // The callbacks are given the requests the middlewares are given, which in the shop's app
  // are its `Req`: the package itself only reads what every `IncomingMessage` has.
  const config = resolveOptions(options as SovendusOptions);
  const log = createLog(config.logger);
  const events = new SovendusEventHub((error) => {
    log.error({ err: error }, 'an event listener threw or rejected; ignored');
  });
  // Before anything reports: its counters hear the events from the first one on.
  const telemetry = createTelemetry({
    enabled: config.telemetry,
    events,
    queue: config.queue,
    storeTimeoutMs: config.storeTimeoutMs,
    log,
  });
  const rawStore = config.store ?? new MemoryTokenStore();
  warnIfMemoryStoreInProduction(rawStore, config.logger);
  // Every store call of the package goes through the breaker, so that a hung store is given a
  // bounded number of them. A request's own calls (save, read) end at the breaker's deadline;
  // the claim ledger bounds its claims itself. Both report the breaker's refusals as failures.
  const breaker = createStoreBreaker(rawStore, {
    ...config.storeBreaker,
    timeoutMs: config.storeTimeoutMs,
    log,
    missed: telemetry?.storeTimeout,
  });
  const store = boundStore(rawStore, breaker, config.storeTimeoutMs);

  const sender = createApiSender({
    waitMs: config.timeoutMs,
    sendLimitMs: config.sendLimitMs,
    retry: config.retry,
    fetch: config.fetch ?? globalThis.fetch,
    watch: telemetry?.attempts,
  });
  const { productId, apiKey, coupons } = config;
  const service = createDeliveryService({
    conversionApi:
      apiKey === undefined
        ? undefined
        : createConversionApi({ apiKey, apiBaseUrl: config.apiBaseUrl, sender }),
    couponApi: coupons && createCouponApi({ ...coupons, sender }),
    store: breaker.store,
    events,
    log,
    ttlSeconds: config.ttlSeconds,
    leaseMs: leaseMsFor(config),
    defaultProductId: typeof productId === 'string' ? productId : undefined,
    queue: config.queue,
    storeTimeoutMs: config.storeTimeoutMs,
    waitMs: config.timeoutMs,
  });
  if (config.queue && config.worker) {
    // A shop's own queue may start its worker asynchronously: a failure to is logged, not left
    // unhandled to end the process. Queued deliveries then wait for a worker elsewhere.
    Promise.resolve(config.queue.startWorker(service.deliverQueued)).catch((error: unknown) => {
      log.error({ err: error }, 'the delivery queue could not start its worker');
    });
  }

  const sessions = sessionAccess(config.getSessionKey, { ttlSeconds: config.ttlSeconds, log });
  const failCheckout = checkoutFailure(log, events);
  const couponCodes = coupons && store.couponCodes;
  if (coupons && couponCodes === undefined) {
    log.warn(
      { code: 'SOVENDUS_NO_COUPON_CODES' },
      'the store keeps no voucher codes (saveCouponCode, getCouponCode, deleteCouponCode), so ' +
        'the codes of Sovendus voucher links (sovCouponCode) are not kept for the session',
    );
  }
  // One check for capture and checkout, so that a broken callback is logged once.
  const refusal = consentCheck(config.consent, log);
  const contextDeps: RequestContextDeps = {
    sessions,
    store,
    service,
    events,
    log,
    failCheckout,
    browserCookie: config.browserCookie,
    couponCodes,
    refusal,
  };

  // Tokens with conversions, voucher links with coupons: a coupon-only shop mounts it too.
  const capture = createCaptureMiddleware({
    queryParam: config.queryParam,
    browserCookie: config.browserCookie,
    couponCodes,
    ttlSeconds: config.ttlSeconds,
    store,
    sessions,
    productIdFor:
      productId === undefined
        ? undefined
        : chooseProductId(config.productIds, productIdResolver(productId), (reason) => {
            events.emit('rejected', { reason });
          }),
    refusal,
    attach: (req, res) => {
      attachRequestContext(req, res, contextDeps);
    },
    events,
    log,
  });

  // Only methods: JSON.stringify and util.inspect of the instance show no option, let alone the key.
  return {
    capture: () => capture,
    convert: (convertOptions?: ConvertOptions) => {
      // A whole order may be only voucher codes: a coupon-only shop can complete orders too.
      // Without conversions there is nothing else to convert: say so at set-up, not per request.
      if (convertOptions?.order === undefined && productId === undefined) {
        throw new SovendusConfigError(
          'convert() tracks conversions and needs the productId and apiKey options.',
        );
      }
      return createConvertMiddleware(
        (req, res) => attachAndGetRequestContext(req, res, contextDeps),
        failCheckout,
        convertOptions,
      );
    },
    sendConversion: (sendOptions) => service.sendConversion(sendOptions),
    redeemCoupon: (redeemOptions) => service.redeemCoupon(redeemOptions),
    on: (event, listener) => events.on(event, listener),
    async close({ timeoutMs = 10_000 } = {}) {
      const deadline = Date.now() + timeoutMs;
      await service.idle(timeoutMs);
      telemetry?.close();
      const { queue } = config;
      if (queue === undefined) return;
      // A queue's close waits for its connections (BullMQ's for a Redis that may hang): a
      // shutdown that waits for it without end never lets the process go, so one deadline
      // bounds the whole close.
      const closed = await settledWithin(
        queue.close().then(() => true),
        Math.max(0, deadline - Date.now()),
      );
      if (closed === undefined) {
        log.warn({ timeoutMs }, 'the delivery queue did not close in time; stopped waiting');
      }
    },
  };
}

// The one-line forms share one instance per options object: with the default memory store,
// a capture and a convert made from the same options must see the same tokens.
const instances = new WeakMap<SovendusOptions, Sovendus>();

function instanceFor<Req extends IncomingMessage>(
  source: SovendusOptions<Req> | Sovendus<Req>,
): Sovendus<Req> {
  if ('capture' in source && typeof source.capture === 'function') return source;
  // Kept as the instance of Node's requests that it is underneath (see createSovendus).
  const options = source as SovendusOptions;
  let instance = instances.get(options);
  if (instance === undefined) {
    instance = createSovendus(options);
    instances.set(options, instance);
  }
  return instance;
}

/**
 * `app.use(sovendusCapture(options))`: the one-line form of `createSovendus(options).capture()`.
 * A `SovendusOptions` object or an instance.
 */
export function sovendusCapture<Req extends IncomingMessage = IncomingMessage>(
  source: SovendusOptions<Req> | Sovendus<Req>,
): Middleware {
  return instanceFor(source).capture();
}

/**
 * `app.post('/checkout', sovendusConvert(options), handler)`: the one-line form of `convert()`.
 * Its `orderId` callback is given the request type of `source` (see {@link SovendusOptions}).
 */
export function sovendusConvert<Req extends IncomingMessage = IncomingMessage>(
  source: SovendusOptions<Req> | Sovendus<Req>,
  convertOptions?: ConvertOptions<Req>,
): Middleware<Req> {
  return instanceFor(source).convert(convertOptions);
}
