import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { SessionAccess } from './session.js';
import { maskToken } from '../conversion/token.js';
import type { BoundedStore, CouponCodeCalls } from '../stores/bounded-store.js';
import type { Middleware, SovendusEvents } from '../types.js';
import { landingReader, type Carried, type Landing } from './landing.js';

/** What the capture middleware needs from its Sovendus instance. */
export interface CaptureOptions {
  /** The `queryParam` option: the token's query parameter. */
  queryParam: string;
  /** The `browserCookie` option: read the browser script's cookies too. */
  browserCookie: boolean;
  /**
   * Where voucher links' codes (`sovCouponCode`) are kept, bounded as `store`; `undefined` when
   * they are not (no `coupons` option, or a store that keeps no codes).
   */
  couponCodes: CouponCodeCalls | undefined;
  /** How long a token (and a voucher code) is kept, in seconds. */
  ttlSeconds: number;
  /** Already bounded by `boundStore`, so a save can hold a request no longer than its deadline. */
  store: BoundedStore;
  /** Where the visitor's session key comes from. */
  sessions: SessionAccess;
  /**
   * The landing request's product id; throws `SovendusConfigError` when it cannot be had.
   * `undefined` for a shop without conversions: tokens are then not captured.
   */
  productIdFor: ((req: IncomingMessage) => string) | undefined;
  /** `undefined` when the visitor consented to the token being kept, else why not. */
  refusal: (req: IncomingMessage) => string | undefined;
  /** Sets `req.sovendus`, which answers on `res`. */
  attach: (req: IncomingMessage, res: ServerResponse) => void;
  /** Hears `captured`, `rejected` and `failed`. */
  events: SovendusEventHub;
  log: Log;
}

/** What a capture that failed was about, for its `failed` event. */
type Captured = Partial<Pick<SovendusEvents['failed'], 'token' | 'productId' | 'couponCode'>>;

/** A valid value a landing carries, and where it came from. */
type Kept = Extract<Carried, { ok: true }>;

const kept = (carried: Carried): Kept | undefined =>
  carried.found && carried.ok ? carried : undefined;

/**
 * Stores `?sovReqToken` for the visitor's session, or, when the query has none and the session
 * holds none, the browser script's `sovReqToken` cookie (`browserCookie`); with `coupons`, the
 * same for a voucher link's `sovCouponCode`, kept beside the token. It fails open: a store that
 * is down or slow costs the request at most the store deadline, never an error page. A request
 * without a session (no session middleware, a path outside express-session's `cookie.path`, a
 * session store that is disconnected) or a `getSessionKey` that throws is served too: the
 * capture is skipped, the setup problem logged at error level (once per instance) and `failed`
 * emitted.
 */
export function createCaptureMiddleware(options: CaptureOptions): Middleware {
  const { browserCookie, ttlSeconds, store, sessions, productIdFor, attach } = options;
  const { couponCodes, refusal, events, log } = options;
  const landing = landingReader({
    queryParam: options.queryParam,
    tokens: productIdFor !== undefined,
    couponCodes: couponCodes !== undefined,
    browserCookie,
  });

  const rejected = (reason: string) => {
    log.debug({ reason }, 'not captured: rejected');
    events.emit('rejected', { reason });
  };

  const captureFailed = (error: SovendusError, captured: Captured) => {
    const { token, couponCode } = captured;
    log.warn(
      {
        code: error.code,
        ...(token !== undefined && { token: maskToken(token) }),
        ...(couponCode !== undefined && { couponCode: maskToken(couponCode) }),
      },
      `capture failed: ${error.message}`,
    );
    events.emit('failed', { stage: 'capture', error, ...captured });
  };

  /**
   * Saves a token with the landing request's product id, then calls `done`: inside the save's
   * own handlers, so a tokened landing costs no promise hop more than the save.
   */
  function saveToken(
    productIdOf: (req: IncomingMessage) => string,
    req: IncomingMessage,
    res: ServerResponse,
    sessionKey: string,
    token: string,
    done: () => void,
  ): void {
    let productId: string;
    try {
      productId = productIdOf(req);
    } catch (error) {
      captureFailed(error as SovendusError, { token });
      done();
      return;
    }
    sessions.keep(req, res);
    store.saveToken(sessionKey, { token, productId, capturedAt: Date.now() }, ttlSeconds).then(
      () => {
        log.debug({ token: maskToken(token) }, 'token captured');
        events.emit('captured', { token, productId });
        done();
      },
      (error: unknown) => {
        captureFailed(error as SovendusError, { token, productId });
        done();
      },
    );
  }

  /** Saves a voucher link's code for the session, then calls `done`, as `saveToken` does. */
  function saveCouponCode(
    codes: CouponCodeCalls,
    req: IncomingMessage,
    res: ServerResponse,
    sessionKey: string,
    couponCode: string,
    done: () => void,
  ): void {
    sessions.keep(req, res);
    codes.save(sessionKey, couponCode, ttlSeconds).then(
      () => {
        log.debug({ couponCode: maskToken(couponCode) }, 'voucher code captured');
        done();
      },
      (error: unknown) => {
        captureFailed(error as SovendusError, { couponCode });
        done();
      },
    );
  }

  /**
   * Saves what the query carried at once; what a cookie carried only while the session holds
   * none: the cookie lives for 30 days, and must not replace a newer click. Where
   * `sessions.captured` cannot tell (`getSessionKey`, or a session that never captured), the
   * store is asked.
   */
  function keepUnlessHeld(
    value: Kept,
    held: () => Promise<unknown>,
    save: () => void,
    about: Captured,
    done: () => void,
  ): void {
    if (!value.fromCookie) {
      save();
      return;
    }
    held().then(
      (found) => {
        if (found === undefined) save();
        else done();
      },
      (error: unknown) => {
        captureFailed(error as SovendusError, about);
        done();
      },
    );
  }

  /** Keeps what a landing carries for the session: a token, a voucher code, or both. */
  function capture(req: IncomingMessage, res: ServerResponse, found: Landing, next: () => void) {
    // Each by name, not through an array: this runs on every tokened landing.
    if (found.token.found && !found.token.ok) rejected(found.token.problem);
    if (found.couponCode.found && !found.couponCode.ok) rejected(found.couponCode.problem);
    const token = productIdFor && kept(found.token);
    const couponCode = couponCodes && kept(found.couponCode);
    if (token === undefined && couponCode === undefined) {
      next();
      return;
    }
    // Consent is asked once what the request carries is known to be worth keeping, before
    // anything is stored.
    const refused = refusal(req);
    if (refused !== undefined) {
      rejected(refused);
      next();
      return;
    }
    let sessionKey: string | undefined;
    try {
      sessionKey = sessions.keyOf(req);
    } catch (error) {
      const captured: Captured = { token: token?.value, couponCode: couponCode?.value };
      events.emit('failed', { stage: 'capture', error: sessions.setupFailed(error), ...captured });
      next();
      return;
    }
    if (sessionKey === undefined) {
      log.warn(
        { ...(token && { token: maskToken(token.value) }) },
        'no session key for this request; nothing captured',
      );
      next();
      return;
    }
    const key = sessionKey;
    // Nearly every landing: a token in the query and no voucher code. No closure of ours then.
    if (token && !token.fromCookie && couponCode === undefined) {
      saveToken(productIdFor, req, res, key, token.value, next);
      return;
    }
    // Both at once; `next` once each has settled, in its own handlers.
    let pending = (token ? 1 : 0) + (couponCode ? 1 : 0);
    const done = () => {
      pending -= 1;
      if (pending === 0) next();
    };
    if (token) {
      const save = () => {
        saveToken(productIdFor, req, res, key, token.value, done);
      };
      keepUnlessHeld(token, () => store.getToken(key), save, { token: token.value }, done);
    }
    if (couponCode) {
      const save = () => {
        saveCouponCode(couponCodes, req, res, key, couponCode.value, done);
      };
      const held = () => couponCodes.get(key);
      keepUnlessHeld(couponCode, held, save, { couponCode: couponCode.value }, done);
    }
  }

  return function sovendusCapture(req, res, next) {
    attach(req, res);
    sessions.watch(req, res);
    const url = req.url ?? '';
    const { cookie } = req.headers;
    // The fast path of nearly every request: one substring search of the query, one of the
    // Cookie header (see landing.ts).
    if (!landing.mayCarry(url, cookie)) {
      next();
      return;
    }
    capture(req, res, landing.read(url, cookie, !sessions.captured(req)), next);
  };
}
