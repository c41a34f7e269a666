import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SovendusError } from './errors.js';
import type { DeliveryQueue } from './queue/delivery-queue.js';

/**
 * A Connect/Express middleware. Typed on Node's own request by default, so it also fits plain
 * Connect; `Req` is the request type of the shop's callbacks (see {@link SovendusOptions}).
 */
export type Middleware<Req extends IncomingMessage = IncomingMessage> = (
  req: Req,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * A pino-compatible logger: `(object, message)`. Any subset of levels may be given. What a
 * method returns is ignored; one that throws, or returns a promise that rejects, is ignored too.
 */
export interface SovendusLogger {
  debug?(object: Record<string, unknown>, message: string): unknown;
  info?(object: Record<string, unknown>, message: string): unknown;
  warn?(object: Record<string, unknown>, message: string): unknown;
  error?(object: Record<string, unknown>, message: string): unknown;
}

/** What the capture keeps for a session. */
export interface StoredToken {
  /** The validated `sovReqToken`. */
  token: string;
  /** The product id the visitor came for, resolved on the landing request. */
  productId: string;
  /** When the token was captured (milliseconds since the epoch). */
  capturedAt: number;
}

/**
 * What `TokenStore.acquireClaims` came to.
 * - `acquired`: the claims were free; the caller sends.
 * - `resumed`: taken over from a sender whose lease ran out before it completed or released
 *   them (it died, or gave up without knowing whether Sovendus accepted its call). The caller
 *   sends, but that earlier call may have been counted: this send may double it.
 * - `held`: another sender holds one of them now (it may still fail).
 * - `completed`: the delivery was accepted already.
 */
export type ClaimOutcome = 'acquired' | 'resumed' | 'held' | 'completed';

/** How long claims taken by `acquireClaims` are held, and how long they are remembered. */
export interface ClaimLease {
  /** Until when (milliseconds since the epoch) the caller holds them. */
  endsAt: number;
  /**
   * How long a store keeps a claim after taking it, in seconds: long past `endsAt`, so that
   * whoever takes it over after the lease ran out learns that (`resumed`).
   */
  keepSeconds: number;
}

/** What `TokenStore.acquireSessionClaims` found and came to. */
export interface SessionClaims {
  /** The session's token, as `getToken` would have read it. */
  entry: StoredToken;
  /** Whether the claims of that token's conversion were taken. */
  claim: ClaimOutcome;
}

/**
 * The claims of a token's conversion. A pure function of the entry's `productId` and `token`
 * (a store may call it with placeholders to learn the shape of the names once).
 */
export type ClaimKeysOf = (entry: Pick<StoredToken, 'productId' | 'token'>) => string[];

/** The session token a delivery used up: deleted once it is accepted, unless a newer click replaced it. */
export interface ConsumedToken {
  /** The session whose token it is. */
  sessionKey: string;
  /** Deleted only while the session still holds this token: a newer click is kept. */
  token: string;
}

/**
 * Where tokens and send claims live. Implement it to use another database; the package ships
 * {@link RedisTokenStore} (for production, shared by all app instances) and
 * {@link MemoryTokenStore} (one process only: development and tests).
 *
 * The claim methods are what make a delivery go out exactly once: whoever acquires its claims
 * sends, everybody else gets `duplicate`. A delivery has one or two claims (the token or
 * voucher code, and the order); each method takes them all, so a store can settle them in one
 * round trip. The package decides which claims a delivery has and what each outcome means
 * (`claim-ledger.ts`); a store only keeps them, atomically.
 *
 * What a store answers is checked: an answer of the wrong shape fails like a store that is
 * down (a `STORE_UNAVAILABLE` failure; the shop's request goes on).
 */
export interface TokenStore {
  /** Keeps `entry` for the session for `ttlSeconds`, replacing an older token: the newest click wins. */
  saveToken(sessionKey: string, entry: StoredToken, ttlSeconds: number): Promise<void>;
  /**
   * The session's token, or `undefined` (or `null`) when there is none or it expired. An answer
   * of another shape is taken as a store failure.
   */
  getToken(sessionKey: string): Promise<StoredToken | null | undefined>;
  /**
   * Takes every claim in `keys` until `lease.endsAt`, or none of them, atomically across every
   * process that shares the store, and answers a {@link ClaimOutcome}: `completed` wins over
   * `held`, `held` over `resumed`. A claim whose lease ended (by the store's reading of
   * `Date.now()`) is free again, but taking it is `resumed`, not `acquired`. Claims `owner`
   * already holds count as free, so a call repeated after a lost answer is `acquired` again.
   */
  acquireClaims(keys: readonly string[], owner: string, lease: ClaimLease): Promise<ClaimOutcome>;
  /**
   * Marks the claims completed (the delivery was accepted) for `ttlSeconds`, so it is never
   * sent again, and deletes `consumed`'s session token while it is still that token.
   */
  completeClaims(
    keys: readonly string[],
    ttlSeconds: number,
    consumed?: ConsumedToken,
  ): Promise<void>;
  /** Gives the claims up after a send that surely failed, each only while `owner` still holds it. */
  releaseClaims(keys: readonly string[], owner: string): Promise<void>;
  /**
   * Optional, for `req.sovendus.forget()`: deletes the session's token, if it holds one. Without
   * it, `forget()` logs that the token stays until it expires.
   */
  deleteToken?(sessionKey: string): Promise<void>;
  /**
   * Optional, with `getCouponCode` and `deleteCouponCode`, for voucher links: keeps the voucher
   * code a visitor landed with (`sovCouponCode`) for the session, for `ttlSeconds`, replacing an
   * older one. It lives beside the session's token and apart from it: a conversion uses up the
   * token, a redemption the code. A store without the three keeps no voucher links (logged once).
   */
  saveCouponCode?(sessionKey: string, couponCode: string, ttlSeconds: number): Promise<void>;
  /**
   * Optional (see `saveCouponCode`): the session's voucher code, or `undefined` (or `null`) when
   * there is none or it expired. An answer of another shape is taken as a store failure.
   */
  getCouponCode?(sessionKey: string): Promise<string | null | undefined>;
  /**
   * Optional (see `saveCouponCode`): deletes the session's voucher code; given `couponCode`, only
   * while the session still holds that code, so that a newer voucher link is kept.
   */
  deleteCouponCode?(sessionKey: string, couponCode?: string): Promise<void>;
  /**
   * Optional, a shortcut for a checkout: reads the session's token (as `getToken`) and takes
   * the claims `claimKeysOf(entry)` of its conversion (as `acquireClaims`), in one step.
   * `undefined` (or `null`) when the session holds no token: then nothing is claimed. Without
   * it, the package calls `getToken` and then `acquireClaims`, one round trip more.
   */
  acquireSessionClaims?(
    sessionKey: string,
    claimKeysOf: ClaimKeysOf,
    owner: string,
    lease: ClaimLease,
  ): Promise<SessionClaims | null | undefined>;
}

/** Retries for transient failures (5xx, 429, timeouts, network errors). */
export interface RetryOptions {
  /** How many attempts in all, the first one included. Default `3`; `1` disables retries. */
  attempts?: number;
  /** The first backoff delay in milliseconds; it doubles each retry (with jitter). Default `100`. */
  minDelayMs?: number;
  /** The longest backoff delay in milliseconds, also the cap on a `Retry-After`. Default `1000`. */
  maxDelayMs?: number;
}

/**
 * What happens when the store stops answering (see `storeBreaker`). A request never waits
 * longer than `storeTimeoutMs` either way; this bounds how many calls a hung store is given.
 */
export interface StoreBreakerOptions {
  /**
   * Store calls in a row that miss `storeTimeoutMs` before new ones are refused for
   * `coolDownMs`. Default `5`.
   */
  timeouts?: number;
  /**
   * How long new store calls are refused once `timeouts` were missed in a row, in milliseconds.
   * Refused are saving or reading a token and taking claims; calls that settle a send already
   * made (recording it accepted, releasing its claims) never are. Then one call probes the
   * store, and the others go out again once it answers in time. Default `1000`.
   */
  coolDownMs?: number;
  /**
   * The most store calls left unanswered at once; past it new ones are refused at once. This is
   * the bound that holds however fast requests arrive, before any timeout can be seen.
   * Default `1000`.
   */
  maxPendingCalls?: number;
}

/**
 * Options of {@link createSovendus}. Validated at construction; a bad one throws a
 * `SovendusConfigError`.
 *
 * @typeParam Req - The request type the shop's callbacks (`productId`, `getSessionKey`,
 * `convert({ orderId })`) are given: Node's `IncomingMessage` unless the shop names its
 * framework's, as an Express app does with `createSovendus<Request>(...)` (`Request` from
 * `express`) to read `req.body` or `req.hostname` there. The package only needs, and only
 * touches, what `IncomingMessage` has.
 */
export interface SovendusOptions<Req extends IncomingMessage = IncomingMessage> {
  /**
   * The Sovendus external product id (a UUID), or a function that picks it per landing request.
   * A function (per country, per path...) runs when the token is captured, and its answer is
   * stored with the token, so the conversion goes to the campaign the visitor came from. It
   * must answer at once: a promise is refused (a `failed` capture, `INVALID_CONFIG`).
   * Required for conversions, with `apiKey`; a shop that only redeems coupons leaves both out.
   */
  productId?: string | ((req: Req) => string) | undefined;
  /**
   * The product ids a landing URL may name (`sovReqProductId=<uuid>`). For a shop with several
   * campaigns, a listed one is stored with the token, and the conversion
   * goes to it, instead of the `productId` option's answer; one not in the list is ignored
   * (the token is kept with `productId`'s answer) and emits `rejected`. Without it the
   * parameter is not read.
   */
  productIds?: readonly string[] | undefined;
  /**
   * Whether the visitor consents: `false` stores nothing, and leaves the e-mail hash out at
   * checkout. Asked before a landing's token or voucher code is stored (from the query or the
   * browser script's cookies), on requests that carry one only, where `false` emits `rejected`;
   * and by `completeOrder()` for an order with an e-mail address, whose redemptions then go
   * without its hash. It must answer `true` or `false` at once: a throw, a promise or any other
   * answer is taken as no consent, and logged once. Default: no gate.
   */
  consent?: ((req: Req) => boolean) | undefined;
  /**
   * The Sovendus API key, required with `productId`. A server secret: it is never logged,
   * serialized or sent to a browser. Letters, digits, `-` and `_`.
   */
  apiKey?: string | undefined;
  /**
   * Coupon redemption (`redeemCoupon`, `completeOrder`). With it, `capture()` also keeps the
   * code of a Sovendus voucher link (`sovCouponCode`) for the session. Shops that only track
   * conversions leave it out.
   */
  coupons?: CouponOptions | undefined;
  /**
   * Where tokens and send claims live: a `RedisTokenStore` in production. Default: a
   * `MemoryTokenStore` (one process only; a warning says so once under `NODE_ENV=production`).
   */
  store?: TokenStore | undefined;
  /** The API's origin. Default `https://press-order-api.sovendus.com`. Point it at the fake API in tests. */
  apiBaseUrl?: string | undefined;
  /**
   * How long a captured token is kept, and a sent conversion remembered, in seconds.
   * Default `2592000` (30 days, as Sovendus documents).
   */
  ttlSeconds?: number | undefined;
  /**
   * How long a checkout waits for Sovendus, retries included, in milliseconds. The same bounds
   * `sendConversion` and `redeemCoupon`. Default `2000`. When it runs out the request goes on
   * with a `queued` (with a queue) or `failed` result, but a call already made is not
   * abandoned: it goes on for up to `sendLimitMs`, and its outcome is recorded and emitted when
   * it comes.
   */
  timeoutMs?: number | undefined;
  /**
   * The hard limit of one API call, in milliseconds, whatever the `fetch` does with its
   * `AbortSignal`. Default `30000` (the documented samples' timeout). Only a call that reached
   * it without an answer, or whose connection broke after it was sent, is an outcome the
   * package cannot know: another attempt then may double the conversion, and is reported as a
   * `resend` event.
   */
  sendLimitMs?: number | undefined;
  /** Retries with exponential backoff and jitter for transient failures. */
  retry?: RetryOptions | undefined;
  /** The longest a request waits for the store, in milliseconds; past it capture lets the request go on. Default `250`. */
  storeTimeoutMs?: number | undefined;
  /**
   * While the store hangs, new store calls are refused instead of queued behind the ones it
   * has not answered: a landing is then served without its token kept, a checkout fails (or is
   * queued) as when the store is down. Defaults: after 5 timeouts in a row, for 1000 ms; never
   * more than 1000 calls unanswered. See docs/hardening.md, "When Redis hangs".
   */
  storeBreaker?: StoreBreakerOptions | undefined;
  /**
   * The query parameter that carries the token, matched literally (not percent-decoded).
   * Default `sovReqToken` (Sovendus can rename it for you).
   */
  queryParam?: string | undefined;
  /**
   * Whether to work with the cookies Sovendus' browser script keeps (`sovReqToken`,
   * `sovCouponCode`). A request with no token in its query, whose session holds nothing yet, has
   * the cookie's token captured instead, checked as a query token is (with `coupons`, a voucher
   * link's code likewise); and a conversion that is sent (or is a duplicate of one sent) expires
   * the token's cookie on that response, so that the browser script cannot report it a second
   * time (the redemption of the session's code, the code's). With `getSessionKey`, a request that
   * carries a cookie reads the store to learn whether its session holds one. Default `true`;
   * `false` leaves the browser's cookies alone.
   */
  browserCookie?: boolean | undefined;
  /**
   * Identifies the visitor's session. Default: express-session's `req.sessionID`.
   * Return `undefined` when the request has no session; the token is then not captured. It
   * must answer at once: a promise is refused, as a throw is (`INVALID_CONFIG`).
   */
  getSessionKey?: ((req: Req) => string | undefined) | undefined;
  /**
   * A pino-compatible logger. It is called as `(object, message)`, at `debug`, `info`, `warn`
   * and `error`; a throw or rejection is ignored. Tokens appear by their first 8 characters
   * only. Default: silent.
   */
  logger?: SovendusLogger | undefined;
  /**
   * The `fetch` used for API calls (one with a proxy agent, say). Default: the global `fetch`.
   * It is called with `redirect: 'error'`: a redirect is never followed, as it would carry the
   * API key elsewhere.
   */
  fetch?: typeof globalThis.fetch | undefined;
  /**
   * A durable queue for deliveries that still fail transiently after the in-request retries.
   * The package ships `new BullMQDeliveryQueue({ connection })` (`sovendus-express/bullmq`).
   * Without it such a conversion is a `failed` result, and its token stays stored for the next
   * checkout; coupon redemptions use the same queue.
   */
  queue?: DeliveryQueue | undefined;
  /**
   * Whether this instance also delivers queued deliveries (a BullMQ worker). Default `true`;
   * set `false` where a separate `sovendus-express worker` process does it.
   */
  worker?: boolean | undefined;
  /**
   * Whether to record OpenTelemetry metrics and spans, when `@opentelemetry/api` is installed.
   * Without that package nothing is loaded; what is recorded is in docs/telemetry.md. Default
   * `true`; `false` loads nothing.
   */
  telemetry?: boolean | undefined;
}

/** Options of {@link SovendusRequestContext.complete}. */
export interface CompleteOptions {
  /** The shop's order id: one conversion per order, however often checkout is submitted. */
  orderId?: string | number | undefined;
}

/** Options of `sendConversion`, for callers without a session (a payment webhook, a job). */
export interface SendConversionOptions extends CompleteOptions {
  /** The token, as captured and stored with the order. Validated before any call is made. */
  token: string;
  /** The product id; default: the `productId` option when it is a string. */
  productId?: string | undefined;
}

/** What identifies a conversion in results and events. */
export interface ConversionFacts {
  /** The token, as captured. */
  token: string;
  /** The product id it was captured for. */
  productId: string;
  /** The shop's order id, as text, when one was given. */
  orderId?: string | undefined;
}

/** What identifies a coupon redemption in results and events. */
export interface RedemptionFacts {
  /** The voucher code, trimmed. */
  couponCode: string;
  /** The shop's order id, as text, when one was given. */
  orderId?: string | undefined;
}

/** Sovendus accepted it (HTTP 200). */
export type DeliverySent<Facts> = Facts & {
  status: 'sent';
  /** How many API attempts it took. */
  attempts: number;
};

/** It was already accepted, or another request is sending it right now. */
export type DeliveryDuplicate<Facts> = Facts & { status: 'duplicate' };

/**
 * It failed transiently and waits in the durable queue (the `queue` option): it will be
 * delivered later, exactly once. Nothing for the shop to do.
 */
export type DeliveryQueued<Facts> = Facts & {
  status: 'queued';
  /** Why it could not be sent now. */
  error: SovendusError;
  /** API attempts made in this request. */
  attempts: number;
};

/** It did not go through; `error.retryable` says whether a later try can succeed. */
export type DeliveryFailed<Facts> = Partial<Facts> & {
  status: 'failed';
  error: SovendusError;
  /** API attempts made (`0` when the failure came before the call). */
  attempts: number;
};

/** Sovendus accepted the conversion; the session's stored token was deleted. */
export type ConversionSent = DeliverySent<ConversionFacts>;
/** There is no token for this session: the visitor did not come from Sovendus (or it expired). */
export interface ConversionNoToken {
  status: 'no_token';
}
/** This order or token was already converted, or is being sent right now. */
export type ConversionDuplicate = DeliveryDuplicate<ConversionFacts>;
/** It failed transiently and waits in the durable queue: nothing for the shop to do. */
export type ConversionQueued = DeliveryQueued<ConversionFacts>;
/** The conversion failed; a session's token stays stored, so a later checkout can send it. */
export type ConversionFailed = DeliveryFailed<ConversionFacts>;

/** What `complete()` and `sendConversion()` resolve to. They never reject. */
export type ConversionResult =
  ConversionSent | ConversionNoToken | ConversionDuplicate | ConversionQueued | ConversionFailed;

/** Sovendus received the redemption (HTTP 200). */
export type RedemptionSent = DeliverySent<RedemptionFacts>;
/** This order and code were already reported, or are being sent right now. */
export type RedemptionDuplicate = DeliveryDuplicate<RedemptionFacts>;
/** It failed transiently and waits in the durable queue. */
export type RedemptionQueued = DeliveryQueued<RedemptionFacts>;
/** The redemption did not go through; `error` says why. */
export type RedemptionFailed = DeliveryFailed<RedemptionFacts>;

/** What `redeemCoupon()` resolves to: the conversion statuses, but for a voucher code. It never rejects. */
export type RedemptionResult =
  RedemptionSent | RedemptionDuplicate | RedemptionQueued | RedemptionFailed;

/** Arguments of {@link Sovendus.redeemCoupon}: one order that used a voucher code. */
export interface RedeemCouponOptions {
  /** The voucher code used in the order. Required. */
  couponCode: string;
  /**
   * The shop's order id. Sovendus needs it when codes are not unique per customer; the package
   * uses it to report each order and code once. Without it, a code is reported once.
   */
  orderId?: string | number | undefined;
  /** Net order value (without VAT and shipping): `"12.34"` or `12.34`, at most 2 decimal places. With `orderCurrency`. */
  orderValue?: string | number | undefined;
  /** ISO 4217 code such as `"EUR"`. With `orderValue`. */
  orderCurrency?: string | undefined;
  /** The buyer's e-mail address. Only its md5 hash (trimmed, lower-cased) is sent; the address is never stored or logged. */
  email?: string | undefined;
  /**
   * The traffic source number of this redemption, over `coupons.trafficSourceNumber` (a shop
   * with one traffic source per country, say). Same rule as the option.
   */
  trafficSourceNumber?: string | number | undefined;
  /** The traffic medium id (a UUID) of this redemption, over `coupons.trafficMediumPublicId`. */
  trafficMediumPublicId?: string | undefined;
}

/**
 * Arguments of {@link SovendusRequestContext.completeOrder}: one order, its conversion and the
 * voucher codes it used. The fields besides `orderId` and `couponCodes` go with each code's
 * redemption, as in {@link RedeemCouponOptions}.
 */
export interface CompleteOrderOptions extends Omit<RedeemCouponOptions, 'couponCode' | 'orderId'> {
  /** The shop's order id. Required: one conversion per order, each code once per order. */
  orderId: string | number;
  /**
   * The voucher codes the order used, as the customer typed them: trimmed, empty ones and
   * repeats dropped, at most 20 distinct codes. None or `[]`: nothing to redeem.
   */
  couponCodes?: readonly string[] | undefined;
}

/** What {@link SovendusRequestContext.completeOrder} resolves to. */
export interface CompleteOrderResult {
  /** What `complete({ orderId })` gives: `no_token` when the shop configured no conversions. */
  conversion: ConversionResult;
  /**
   * One result per distinct voucher code, in the order given; empty without the `coupons`
   * option. Malformed `couponCodes` are one `failed` result that says why.
   */
  redemptions: RedemptionResult[];
}

/** Coupon redemption settings (Sovendus Voucher Network / Checkout Benefits). */
export interface CouponOptions {
  /** The traffic source number Sovendus gave you, e.g. `1234`. */
  trafficSourceNumber: string | number;
  /** Your integration id from Sovendus (a UUID), for their statistics. Optional. */
  trafficMediumPublicId?: string | undefined;
  /** The coupon API's origin. Default `https://coupon-api.sovendus.com`. Point it at the fake API in tests. */
  apiBaseUrl?: string | undefined;
}

/** `req.sovendus`, present after `capture()`. */
export interface SovendusRequestContext {
  /** The token held for this session, or `undefined`. Reads the store only when called. */
  getToken(): Promise<string | undefined>;
  /**
   * The voucher code of the Sovendus link this visitor came with (`sovCouponCode`), kept for the
   * session with the `coupons` option, or `undefined`: to pre-fill the voucher field, say. Reads
   * the store only when called, and only for a session that captured something. Never rejects:
   * a store failure, or no session, is `undefined`, logged and emitted as `failed`.
   */
  getCouponCode(): Promise<string | undefined>;
  /** Sends this session's conversion. Never rejects: see {@link ConversionResult}. */
  complete(options?: CompleteOptions): Promise<ConversionResult>;
  /**
   * Completes an order: this session's conversion, as `complete({ orderId })`, and a
   * redemption of each of its voucher codes, as `redeemCoupon()` (the same claims: each order
   * and code is reported once, whichever way). Never rejects: input that cannot be sent
   * (from JavaScript, say) comes back as `failed` results with `INVALID_INPUT`.
   *
   * The conversion and the redemptions run side by side, so the request waits as long as the
   * slowest of them alone, not their sum: for Sovendus at most `timeoutMs`, plus a few store
   * and queue calls of at most `storeTimeoutMs` each. A call still going then goes on, and
   * its outcome is recorded and emitted when it comes.
   */
  completeOrder(order: CompleteOrderOptions): Promise<CompleteOrderResult>;
  /**
   * Forgets the visitor, who withdrew consent or asked to be forgotten: deletes this session's
   * token (with a store that has `deleteToken`) and, with `browserCookie`, expires the browser
   * script's cookie on this response. Never rejects: a failure is logged.
   */
  forget(): Promise<void>;
}

/**
 * Events of a Sovendus instance. A listener that throws, or returns a promise that rejects
 * (an `async` one), is logged at error level and ignored; its promise is not awaited.
 */
export interface SovendusEvents {
  /** A valid token was stored for a session. */
  captured: { token: string; productId: string };
  /**
   * A request carried a token, a voucher code or a product id (in its query or cookies) that was
   * rejected and not stored, or no consent to store them: `reason` says which and why.
   */
  rejected: { reason: string };
  /** Sovendus accepted a conversion (from a request or from the queue). */
  sent: ConversionSent;
  /** A conversion that failed transiently was put in the durable queue. */
  queued: ConversionQueued;
  /** A queued conversion ran out of its retry window, or was refused for good: a dead letter. */
  dead: ConversionFacts & { error: SovendusError };
  /** Sovendus accepted a coupon redemption (from a request or from the queue). */
  redeemed: RedemptionSent;
  /** A coupon redemption that failed transiently was put in the durable queue. */
  redemptionQueued: RedemptionQueued;
  /** A queued coupon redemption ran out of its retry window, or was refused for good. */
  redemptionDead: RedemptionFacts & { error: SovendusError };
  /**
   * A conversion or redemption is sent again after an outcome the package could not know
   * (`reason`): Sovendus may have taken the earlier call, so this one may count twice. Rare;
   * count them.
   */
  resend: ResendEvent;
  /** Capture, a conversion or a redemption failed; the shop's request went on regardless. */
  failed: {
    stage: 'capture' | 'conversion' | 'redemption';
    error: SovendusError;
    token?: string | undefined;
    productId?: string | undefined;
    orderId?: string | undefined;
    couponCode?: string | undefined;
  };
}

/**
 * Why a call was sent again although an earlier one may have been taken:
 * - `no-answer`: the earlier call reached `sendLimitMs` without an answer;
 * - `connection-lost`: its connection broke after it was sent, before an answer;
 * - `resumed`: its sender's lease ran out before it settled (the process died, or stalled).
 */
export type ResendReason = 'no-answer' | 'connection-lost' | 'resumed';

/** The payload of the `resend` event. */
export type ResendEvent =
  | (ConversionFacts & { kind: 'conversion'; reason: ResendReason })
  | (RedemptionFacts & { kind: 'redemption'; reason: ResendReason });

/** Options of `convert()`; `Req` as in {@link SovendusOptions}. */
export interface ConvertOptions<Req extends IncomingMessage = IncomingMessage> {
  /**
   * Reads the order id from the checkout request, for one conversion per order. It may be
   * async (a database lookup): it is awaited, with no time limit of its own, as it is the
   * shop's code. If it throws or rejects, the checkout's result is `failed` (`INVALID_CONFIG`,
   * nothing sent, the token kept for a later checkout) and the shop's handler still runs.
   */
  orderId?:
    | ((req: Req) => string | number | undefined | PromiseLike<string | number | undefined>)
    | undefined;
  /**
   * Instead of `orderId`: reads the whole order from the checkout request, and the checkout
   * runs `req.sovendus.completeOrder()` with it: the conversion goes to `res.locals.sovendus`,
   * the voucher codes' redemptions to `res.locals.sovendusRedemptions`. It may be async, and a
   * throw or rejection fails as `orderId`'s does (no redemptions). With it, a shop that only
   * redeems coupons can mount `convert()` too (its conversion is `no_token`).
   */
  order?: ((req: Req) => CompleteOrderOptions | PromiseLike<CompleteOrderOptions>) | undefined;
}

/** What {@link createSovendus} returns; `Req` as in {@link SovendusOptions}. */
export interface Sovendus<Req extends IncomingMessage = IncomingMessage> {
  /**
   * Middleware for every request: stores `?sovReqToken` for the session (with `coupons`, a
   * voucher link's `?sovCouponCode` too) and sets `req.sovendus`.
   */
  capture(): Middleware;
  /** Middleware for the checkout route: completes the conversion and puts the result in `res.locals.sovendus`. */
  convert(options?: ConvertOptions<Req>): Middleware<Req>;
  /** Sends a conversion for a known token, without a session. Never rejects. */
  sendConversion(options: SendConversionOptions): Promise<ConversionResult>;
  /**
   * Reports an order that used a voucher code (needs the `coupons` option), from a checkout
   * handler or a payment webhook. Validates everything first; never rejects.
   */
  redeemCoupon(options: RedeemCouponOptions): Promise<RedemptionResult>;
  /**
   * Subscribes to an event; returns a function that unsubscribes. The listener may be `async`:
   * it is not awaited, and a rejection is logged and ignored, as a throw is.
   */
  on<E extends keyof SovendusEvents>(
    event: E,
    listener: (payload: SovendusEvents[E]) => unknown,
  ): () => void;
  /**
   * Waits for conversions in flight, then closes the queue, if any: all of it at most
   * `timeoutMs` (default 10000). It does not close the store's Redis client: the shop owns it.
   * The package keeps no timer of its own alive.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}
