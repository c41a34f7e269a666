import type { IncomingMessage } from 'node:http';
import type { SovendusError } from '../errors.js';
import type { SovendusEventHub } from '../events.js';
import type { Log } from '../logging.js';
import type { SessionAccess } from './session.js';
import { maskToken } from '../conversion/token.js';
import type { BoundedStore } from '../stores/bounded-store.js';
import type { Middleware } from '../types.js';
import { readQueryToken } from './query-token.js';

/** What the capture middleware needs from its Sovendus instance. */
export interface CaptureOptions {
  /** The `queryParam` option: the token's query parameter. */
  queryParam: string;
  /** How long a token is kept, in seconds. */
  ttlSeconds: number;
  /** Already bounded by `boundStore`, so a save can hold a request no longer than its deadline. */
  store: BoundedStore;
  /** Where the visitor's session key comes from. */
  sessions: SessionAccess;
  /** The landing request's product id; throws `SovendusConfigError` when it cannot be had. */
  productIdFor: (req: IncomingMessage) => string;
  /** Sets `req.sovendus`. */
  attach: (req: IncomingMessage) => void;
  /** Hears `captured`, `rejected` and `failed`. */
  events: SovendusEventHub;
  log: Log;
}

/**
 * Stores `?sovReqToken` for the visitor's session. It fails open: a store that is down or slow
 * costs the request at most the store deadline, never an error page. A request without a
 * session (no session middleware, a path outside express-session's `cookie.path`, a session
 * store that is disconnected) or a `getSessionKey` that throws is served too: the capture is
 * skipped, the setup problem logged at error level (once per instance) and `failed` emitted.
 */
export function createCaptureMiddleware(options: CaptureOptions): Middleware {
  const { queryParam, ttlSeconds, store, sessions, productIdFor, attach, events, log } = options;

  const captureFailed = (error: SovendusError, token: string, productId?: string) => {
    log.warn({ code: error.code, token: maskToken(token) }, `capture failed: ${error.message}`);
    events.emit('failed', { stage: 'capture', error, token, productId });
  };

  return function sovendusCapture(req, res, next) {
    attach(req);
    sessions.watch(req, res);
    const found = readQueryToken(req.url ?? '', queryParam);
    if (!found.found) {
      next();
      return;
    }
    if (!found.ok) {
      log.debug({ reason: found.problem }, 'token rejected');
      events.emit('rejected', { reason: found.problem });
      next();
      return;
    }
    const token = found.value;

    let sessionKey: string | undefined;
    let productId: string;
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
  };
}
