import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { SessionAccess } from './session.js';
import { maskToken } from '../conversion/token.js';
import type { BoundedStore } from '../stores/bounded-store.js';
import type { Middleware } from '../types.js';
import type { Checked, Valid } from '../validity.js';
import { checkToken } from '../conversion/token.js';
import { TOKEN_COOKIE } from './expire-cookies.js';
import { readQueryToken } from './query-token.js';
import { readCookie } from './request-cookie.js';

/** What the capture middleware needs from its Sovendus instance. */
export interface CaptureOptions {
  /** The `queryParam` option: the token's query parameter. */
  queryParam: string;
  /** The `browserCookie` option: read the browser script's `sovReqToken` cookie too. */
  browserCookie: boolean;
  /** How long a token is kept, in seconds. */
  ttlSeconds: number;
  /** Already bounded by `boundStore`, so a save can hold a request no longer than its deadline. */
  store: BoundedStore;
  /** Where the visitor's session key comes from. */
  sessions: SessionAccess;
  /** The landing request's product id; throws `SovendusConfigError` when it cannot be had. */
  productIdFor: (req: IncomingMessage) => string;
  /** `undefined` when the visitor consented to the token being kept, else why not. */
  refusal: (req: IncomingMessage) => string | undefined;
  /** Sets `req.sovendus`, which answers on `res`. */
  attach: (req: IncomingMessage, res: ServerResponse) => void;
  /** Hears `captured`, `rejected` and `failed`. */
  events: SovendusEventHub;
  log: Log;
}

/**
 * Stores `?sovReqToken` for the visitor's session, or, when the query has none and the session
 * holds none, the browser script's `sovReqToken` cookie (`browserCookie`). It fails open: a
 * store that is down or slow costs the request at most the store deadline, never an error page.
 * A request without a session (no session middleware, a path outside express-session's
 * `cookie.path`, a session store that is disconnected) or a `getSessionKey` that throws is
 * served too: the capture is skipped, the setup problem logged at error level (once per
 * instance) and `failed` emitted.
 */
export function createCaptureMiddleware(options: CaptureOptions): Middleware {
  const { queryParam, browserCookie, ttlSeconds, store, sessions, productIdFor, attach } = options;
  const { refusal, events, log } = options;

  const rejected = (reason: string) => {
    log.debug({ reason }, 'token rejected');
    events.emit('rejected', { reason });
  };

  const captureFailed = (error: SovendusError, token: string, productId?: string) => {
    log.warn({ code: error.code, token: maskToken(token) }, `capture failed: ${error.message}`);
    events.emit('failed', { stage: 'capture', error, token, productId });
  };

  /**
   * Saves the token for the session, with the landing request's product id, then calls `next`:
   * inside the save's own handlers, so a tokened landing costs no promise hop more than the save.
   */
  function save(
    req: IncomingMessage,
    res: ServerResponse,
    sessionKey: string,
    token: string,
    next: () => void,
  ): void {
    let productId: string;
    try {
      productId = productIdFor(req);
    } catch (error) {
      captureFailed(error as SovendusError, token);
      next();
      return;
    }
    sessions.keep(req, res);
    store.saveToken(sessionKey, { token, productId, capturedAt: Date.now() }, ttlSeconds).then(
      () => {
        log.debug({ token: maskToken(token) }, 'token captured');
        events.emit('captured', { token, productId });
        next();
      },
      (error: unknown) => {
        captureFailed(error as SovendusError, token, productId);
        next();
      },
    );
  }

  /** A checked token for the session; one from the cookie only while the session holds none. */
  function capture(
    req: IncomingMessage,
    res: ServerResponse,
    found: Checked<string>,
    fromCookie: boolean,
    next: () => void,
  ) {
    // Consent is asked once the token is known to be one, before anything is stored.
    const refused = found.ok ? refusal(req) : found.problem;
    if (refused !== undefined) {
      rejected(refused);
      next();
      return;
    }
    const token = (found as Valid<string>).value;

    let sessionKey: string | undefined;
    try {
      sessionKey = sessions.keyOf(req);
    } catch (error) {
      events.emit('failed', { stage: 'capture', error: sessions.setupFailed(error), token });
      next();
      return;
    }
    if (sessionKey === undefined) {
      log.warn({ token: maskToken(token) }, 'no session key for this request; token not captured');
      next();
      return;
    }
    const key = sessionKey;
    if (!fromCookie) {
      save(req, res, key, token, next);
      return;
    }
    // Where `sessions.captured` cannot tell (`getSessionKey`, or a session that never captured),
    // the store is asked: the cookie lives for 30 days, and must not replace a newer click.
    store.getToken(key).then(
      (held) => {
        if (held) next();
        else save(req, res, key, token, next);
      },
      (error: unknown) => {
        captureFailed(error as SovendusError, token);
        next();
      },
    );
  }

  return function sovendusCapture(req, res, next) {
    attach(req, res);
    sessions.watch(req, res);
    const found = readQueryToken(req.url ?? '', queryParam);
    if (found.found) {
      capture(req, res, found, false, next);
      return;
    }
    // Only when the query has no token: one substring search of the Cookie header at most.
    const cookie = browserCookie ? readCookie(req.headers.cookie, TOKEN_COOKIE) : undefined;
    if (cookie?.found !== true || sessions.captured(req)) {
      next();
      return;
    }
    capture(req, res, cookie.ok ? checkToken(cookie.value) : cookie, true, next);
  };
}
