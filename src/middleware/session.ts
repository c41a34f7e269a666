import type { IncomingMessage } from 'node:http';
import { SovendusConfigError, SovendusError } from '../errors.js';
import type { Log } from '../logging.js';

const MISSING_SESSION =
  'sovendus-express found no session on the request (req.session is not set), so the token ' +
  'cannot be kept or found. express-session leaves it unset outside its cookie.path and while ' +
  'its session store is disconnected; otherwise add express-session (app.use(session(...))) ' +
  'before sovendus.capture(), or pass the getSessionKey option for another session library.';

/** The session field that names the token's store key (the session id at first capture). */
const KEY_FIELD = 'sovendusKey';

type Callback = (error?: unknown) => void;

interface ExpressSession {
  [KEY_FIELD]?: string;
  cookie?: { originalMaxAge?: number | null };
  regenerate?: (callback: Callback) => unknown;
  destroy?: (callback?: Callback) => unknown;
}

interface ExpressSessionRequest extends IncomingMessage {
  session?: ExpressSession | null;
  sessionID?: string;
}

export interface SessionAccess {
  /** The key tokens are stored under; throws `SovendusConfigError` when sessions are not set up. */
  keyOf(req: IncomingMessage): string | undefined;
  /**
   * Takes what `keyOf` threw and returns it as a `SovendusError`, logging it at error level the
   * first time only: a setup problem repeats on every tokened request, and one line says it.
   */
  setupFailed(error: unknown): SovendusError;
  /** Makes sure the session outlives this request, and the token outlives the session id. */
  keep(req: IncomingMessage): void;
  /**
   * Runs on every request, so it costs one property read unless the session holds a token:
   * then the token's key is carried into a new session made in this request.
   */
  watch(req: IncomingMessage): void;
}

/**
 * A session id changes when a shop calls `req.session.regenerate()` at login (Passport 0.6+
 * does), or destroys the session and makes a new one; the session's data is wiped too. So the
 * token is stored under the session id *at capture*, which the session remembers in
 * `sovendusKey`, and a session that holds one gets its own `regenerate` and `destroy` (this
 * request's session object only: nothing global is patched) that hand the key to the next
 * session of the same request.
 */
function carryKeyIntoNextSession(req: ExpressSessionRequest, session: ExpressSession): void {
  const key = session[KEY_FIELD];
  const { regenerate, destroy } = session;
  if (key === undefined || typeof regenerate !== 'function' || typeof destroy !== 'function') {
    return;
  }
  // express-session makes the next session with `req.session = new Session(req)`: catch that
  // one assignment, give the new session the key, and turn back into a plain property.
  const handOver = () => {
    Object.defineProperty(req, 'session', {
      configurable: true,
      enumerable: true,
      get: () => undefined,
      set(next: ExpressSession | null | undefined) {
        Object.defineProperty(req, 'session', {
          configurable: true,
          enumerable: true,
          writable: true,
          value: next,
        });
        if (next && next[KEY_FIELD] === undefined) {
          next[KEY_FIELD] = key;
          carryKeyIntoNextSession(req, next); // in case this request changes sessions again
        }
      },
    });
  };
  Object.defineProperties(session, {
    regenerate: {
      configurable: true,
      writable: true,
      value(this: ExpressSession, callback: Callback) {
        handOver();
        return regenerate.call(this, callback);
      },
    },
    destroy: {
      configurable: true,
      writable: true,
      value(this: ExpressSession, callback?: Callback) {
        const result = destroy.call(this, callback);
        handOver(); // after: destroy deletes req.session itself
        return result;
      },
    },
  });
}

function logOnce(log: Log): (error: unknown) => SovendusError {
  let logged = false;
  return (error) => {
    const problem = error instanceof SovendusError ? error : new SovendusConfigError(String(error));
    if (!logged) {
      logged = true;
      log.error({ code: problem.code }, problem.message);
    }
    return problem;
  };
}

/**
 * express-session by default. With `saveUninitialized: false` (the usual setting) a new,
 * untouched session is never saved and its cookie never sent, so the visitor who landed would
 * come back as a stranger: writing `sovendusKey` marks the session modified, which saves it.
 */
function expressSession(ttlSeconds: number, log: Log): SessionAccess {
  let warned = false;
  const warnIfCookieDiesFirst = (session: ExpressSession) => {
    const maxAge = session.cookie?.originalMaxAge;
    if (warned || (typeof maxAge === 'number' && maxAge >= ttlSeconds * 1000)) return;
    warned = true;
    log.warn(
      { cookieMaxAgeMs: maxAge ?? null, tokenTtlSeconds: ttlSeconds },
      'the session cookie expires before the Sovendus token: set express-session cookie.maxAge ' +
        '(and the session store TTL) to at least ttlSeconds, or visitors lose their token',
    );
  };

  return {
    setupFailed: logOnce(log),
    keyOf(req) {
      const { session, sessionID } = req as ExpressSessionRequest;
      if (typeof session !== 'object' || session === null) {
        throw new SovendusConfigError(MISSING_SESSION);
      }
      return session[KEY_FIELD] ?? sessionID;
    },
    keep(req) {
      const request = req as ExpressSessionRequest;
      const { session, sessionID } = request;
      if (!session || sessionID === undefined) return;
      if (session[KEY_FIELD] === undefined) {
        session[KEY_FIELD] = sessionID;
        carryKeyIntoNextSession(request, session);
      }
      warnIfCookieDiesFirst(session);
    },
    watch(req) {
      const request = req as ExpressSessionRequest;
      const session = request.session;
      if (session?.[KEY_FIELD] !== undefined) carryKeyIntoNextSession(request, session);
    },
  };
}

/** With a custom `getSessionKey`, the shop's own session library is in charge of persistence. */
export function sessionAccess(
  getSessionKey: ((req: IncomingMessage) => string | undefined) | undefined,
  options: { ttlSeconds: number; log: Log },
): SessionAccess {
  if (getSessionKey === undefined) return expressSession(options.ttlSeconds, options.log);
  return {
    keyOf(req) {
      let key: unknown;
      try {
        key = getSessionKey(req);
      } catch (error) {
        throw new SovendusConfigError(
          `getSessionKey threw: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      if (key === undefined || (typeof key === 'string' && key.length > 0)) return key;
      throw new SovendusConfigError('getSessionKey must return a non-empty string or undefined.');
    },
    setupFailed: logOnce(options.log),
    keep: () => undefined,
    watch: () => undefined,
  };
}
