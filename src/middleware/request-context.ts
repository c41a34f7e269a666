import type { IncomingMessage, ServerResponse } from 'node:http';
import { SovendusValidationError, type SovendusError } from '../errors.js';
import type { CheckoutSession, DeliveryService } from '../delivery/delivery-service.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type {
  CompleteOptions,
  CompleteOrderOptions,
  CompleteOrderResult,
  ConversionResult,
  RedemptionResult,
  SovendusRequestContext,
} from '../types.js';
import type { ConsumedCouponCode } from '../delivery/claim-ledger.js';
import type { BoundedStore, CouponCodeCalls } from '../stores/bounded-store.js';
import type { FailCheckout } from './checkout-failure.js';
import { COUPON_COOKIE, expireCookies, TOKEN_COOKIE } from './expire-cookies.js';
import type { SessionAccess } from './session.js';

/** What `req.sovendus` is made from: one set per Sovendus instance. */
export interface RequestContextDeps {
  sessions: SessionAccess;
  store: BoundedStore;
  service: DeliveryService;
  events: SovendusEventHub;
  log: Log;
  failCheckout: FailCheckout;
  /** The `browserCookie` option: a sent conversion expires the browser script's cookie. */
  browserCookie: boolean;
  /** Where voucher links' codes are kept; `undefined` when they are not (see the capture). */
  couponCodes: CouponCodeCalls | undefined;
  /** The `consent` option, as the capture asks it: `undefined` when the visitor consents. */
  refusal: (req: IncomingMessage) => string | undefined;
}

const NOT_OPTIONS = 'complete() takes an options object, { orderId }, or nothing';

/** Sent now, or before (a duplicate): either way the browser script must not report it again. */
const wasSent = (result: ConversionResult | RedemptionResult): boolean =>
  result.status === 'sent' || result.status === 'duplicate';

/** `req.sovendus`: a thin per-request handle; it does nothing until one of its methods is called. */
export class RequestContext implements SovendusRequestContext {
  constructor(
    private readonly req: IncomingMessage,
    private readonly deps: RequestContextDeps,
    /** Given where the request has no `res` of its own (a plain Node request, under Connect). */
    private readonly res?: ServerResponse,
  ) {}

  /** The response this request is answered on: Express keeps it as `req.res`. */
  #response(): ServerResponse | undefined {
    return this.res ?? (this.req as { res?: ServerResponse }).res;
  }

  /**
   * What the store holds for this session, read by `read`; `undefined` when it holds nothing,
   * and when it cannot be read: a store failure, or no session (or a getSessionKey that threw),
   * is logged and emitted as `failed` at `stage`, as the getters promise to resolve.
   */
  async #readForSession<T>(
    stage: 'conversion' | 'redemption',
    what: string,
    read: (sessionKey: string) => Promise<T | undefined>,
  ): Promise<T | undefined> {
    const { sessions, events, log } = this.deps;
    let sessionKey: string | undefined;
    try {
      sessionKey = sessions.keyOf(this.req);
    } catch (error) {
      events.emit('failed', { stage, error: sessions.setupFailed(error) });
      return undefined;
    }
    if (sessionKey === undefined) return undefined;
    try {
      return await read(sessionKey);
    } catch (error) {
      log.warn({ err: error }, `could not read ${what}`);
      events.emit('failed', { stage, error: error as SovendusError });
      return undefined;
    }
  }

  getToken(): Promise<string | undefined> {
    return this.#readForSession('conversion', 'the token', async (key) => {
      return (await this.deps.store.getToken(key))?.token;
    });
  }

  /** The session's voucher code (from a Sovendus link), with its key; never rejects. */
  #capturedCouponCode(): Promise<ConsumedCouponCode | undefined> {
    const { couponCodes, sessions } = this.deps;
    // A session that never captured holds no code: no store call for most visitors.
    if (couponCodes === undefined || !sessions.mayHold(this.req)) {
      return Promise.resolve(undefined);
    }
    return this.#readForSession('redemption', 'the voucher code', async (sessionKey) => {
      const couponCode = await couponCodes.get(sessionKey);
      return couponCode === undefined ? undefined : { sessionKey, couponCode };
    });
  }

  async getCouponCode(): Promise<string | undefined> {
    return (await this.#capturedCouponCode())?.couponCode;
  }

  async forget(): Promise<void> {
    const { sessions, store, couponCodes, log } = this.deps;
    // At once, while the response's headers can still take them.
    if (this.deps.browserCookie) {
      expireCookies(this.req, this.#response(), [TOKEN_COOKIE, COUPON_COOKIE]);
    }
    let sessionKey: string | undefined;
    try {
      sessionKey = sessions.keyOf(this.req);
    } catch (error) {
      sessions.setupFailed(error); // no session: nothing was kept for it either
      return;
    }
    if (sessionKey === undefined) return;
    const key = sessionKey;
    /** One deletion; a failure is logged, and the other goes on. */
    const remove = async (what: string, deletion: () => Promise<void>) => {
      try {
        await deletion();
      } catch (error) {
        log.warn({ code: (error as SovendusError).code }, `forget(): ${what} was not deleted`);
      }
    };
    const deleteToken = store.deleteToken;
    if (deleteToken === undefined) {
      log.warn({}, 'forget(): the store has no deleteToken, so the token stays until it expires');
    }
    await Promise.all([
      deleteToken && remove('the token', () => deleteToken(key)),
      couponCodes && remove('the voucher code', () => couponCodes.delete(key)),
    ]);
  }

  /**
   * The checkout's session, read only when a delivery needs it; `linked` hears the voucher code
   * of its Sovendus link, when one is read.
   */
  private session(linked?: (code: ConsumedCouponCode | undefined) => void): CheckoutSession {
    const { sessions } = this.deps;
    return {
      keyOf: () => sessions.keyOf(this.req),
      captured: () => sessions.captured(this.req),
      capturedCouponCode: async () => {
        const code = await this.#capturedCouponCode();
        linked?.(code);
        return code;
      },
    };
  }

  /**
   * A conversion sent, now or before, expires the browser script's cookie on this response, so
   * that the script cannot report it a second time; so does the redemption of the voucher code
   * the session kept from a Sovendus link (the script redeems its cookie's code first).
   */
  #expireCookiesIfSent(conversion: ConversionResult, linked?: RedemptionResult): void {
    const names = [
      ...(wasSent(conversion) ? [TOKEN_COOKIE] : []),
      ...(linked && wasSent(linked) ? [COUPON_COOKIE] : []),
    ];
    if (names.length > 0) expireCookies(this.req, this.#response(), names);
  }

  /**
   * The order as it may be sent: without consent, without its e-mail address, so that no hash
   * of it goes to Sovendus. Asked only of an order that has one.
   */
  #consented(order: CompleteOrderOptions): CompleteOrderOptions {
    const given: unknown = order;
    if (typeof given !== 'object' || given === null || order.email === undefined) return order;
    const refused = this.deps.refusal(this.req);
    if (refused === undefined) return order;
    this.deps.log.debug({ reason: refused }, 'the e-mail hash is left out');
    return { ...order, email: undefined };
  }

  completeOrder(order: CompleteOrderOptions): Promise<CompleteOrderResult> {
    let linked: string | undefined;
    const session = this.session((code) => (linked = code?.couponCode));
    const completed = this.deps.service.completeOrder(session, this.#consented(order));
    if (!this.deps.browserCookie) return completed;
    return completed.then((result) => {
      this.#expireCookiesIfSent(
        result.conversion,
        linked === undefined
          ? undefined
          : result.redemptions.find(({ couponCode }) => couponCode === linked),
      );
      return result;
    });
  }

  complete(options: CompleteOptions = {}): Promise<ConversionResult> {
    // Typed for TypeScript callers; checked for JavaScript ones. `complete(order.id)` would
    // otherwise send without the order id, and `complete(null)` would reject.
    const given: unknown = options;
    if (typeof given !== 'object' || given === null) {
      const error = new SovendusValidationError([NOT_OPTIONS]);
      return Promise.resolve(this.deps.failCheckout(error));
    }
    const completed = this.deps.service.completeSession(this.session(), options);
    if (!this.deps.browserCookie) return completed;
    return completed.then((result) => {
      this.#expireCookiesIfSent(result);
      return result;
    });
  }
}
