import type { IncomingMessage, ServerResponse } from 'node:http';
import { refuseAsync } from '../callbacks.js';
import { SovendusConfigError, SovendusError } from '../errors.js';
import type { Log } from '../logging.js';
import { carriedKeys } from './carried-keys.js';

const MISSING_SESSION =
  'sovendus-express found no session on the request (req.session is not set), so the token ' +
  'cannot be kept or found. express-session leaves it unset outside its cookie.path and while ' +
  'its session store is disconnected; otherwise add express-session (app.use(session(...))) ' +
  'before sovendus.capture(), or pass the getSessionKey option for another session library.';

/** The session field that names the token's store key (the session id at first capture). */
const KEY_FIELD = 'sovendusKey';

interface ExpressSession {
  [KEY_FIELD]?: string;
  cookie?: { originalMaxAge?: number | null };
}

interface ExpressSessionRequest extends IncomingMessage {
  session?: ExpressSession | null;
  sessionID?: string;
}

/** How the package finds a request's session key, under express-session or `getSessionKey`. */
export interface SessionAccess {
  /** The key tokens are stored under; throws `SovendusConfigError` when sessions are not set up. */
  keyOf(req: IncomingMessage): string | undefined;
  /**
   * Takes what `keyOf` threw and returns it as a `SovendusError`, logging it at error level the
   * first time only: a setup problem repeats on every tokened request, and one line says it.
   */
  setupFailed(error: unknown): SovendusError;
  /**
   * Whether this request's session captured a token or a voucher code at some time (it may have
   * been used up since, or its save may still be under way). `false` where that cannot be known
   * (`getSessionKey`).
   */
  captured(req: IncomingMessage): boolean;
  /**
   * Whether the store may hold a token or voucher code for this request's session: under
   * express-session only once it captured one (so that a visitor who never landed from
   * Sovendus costs no store call); with `getSessionKey`, always, as that cannot be known.
   */
  mayHold(req: IncomingMessage): boolean;
  /** Makes sure the session outlives this request, and the token outlives the session id. */
  keep(req: IncomingMessage, res: ServerResponse): void;
  /**
   * Runs on every request, so it costs one property read unless the session holds a token:
   * then the token's key is carried into a new session made in this request.
   */
  watch(req: IncomingMessage, res: ServerResponse): void;
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
 *
 * A session id changes when a shop calls `req.session.regenerate()` at login (Passport 0.6+
 * does), or destroys the session and makes a new one, and the new session's data starts empty.
 * So the token is stored under the session id *at capture*, which the session remembers in
 * `sovendusKey`; on a request whose session holds one, that key is handed to the session the
 * request ends with. Nothing of express-session is wrapped for that, so `req.session` reads
 * exactly as without this package (the old session between `regenerate()` and its callback, no
 * `session` property at all after `destroy()`): `keyOf` answers with the request's key for the
 * rest of the request, and a `res.end` of ours writes it into the session the request ends with.
 * The capture runs after express-session, so its `res.end` wraps express-session's, and the key
 * is in the session before express-session saves it there.
 */
function expressSession(ttlSeconds: number, log: Log): SessionAccess {
  const carryKeyIntoNextSession = (
    req: ExpressSessionRequest,
    res: ServerResponse,
    key: string,
  ) => {
    if (carriedKeys.has(req) || typeof res.end !== 'function') return;
    carriedKeys.set(req, key);
    // As express-session wraps it: no bound copy and no rest arguments, on every tokened landing.
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called with its `this` below
    const end = res.end as (this: ServerResponse, ...args: unknown[]) => ServerResponse;
    res.end = function (this: ServerResponse, chunk: unknown, encoding: unknown, done: unknown) {
      const { session } = req;
      if (session && session[KEY_FIELD] === undefined) session[KEY_FIELD] = key;
      // From here on the session the request ends with holds the key itself.
      carriedKeys.delete(req);
      return end.call(this, chunk, encoding, done);
    } as ServerResponse['end'];
  };

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

  const captured = (req: IncomingMessage) => {
    const { session } = req as ExpressSessionRequest;
    return session?.[KEY_FIELD] !== undefined || carriedKeys.has(req);
  };

  return {
    setupFailed: logOnce(log),
    keyOf(req) {
      const { session, sessionID } = req as ExpressSessionRequest;
      if (typeof session !== 'object' || session === null) {
        throw new SovendusConfigError(MISSING_SESSION);
      }
      return session[KEY_FIELD] ?? carriedKeys.get(req) ?? sessionID;
    },
    captured,
    mayHold: captured,
    keep(req, res) {
      const request = req as ExpressSessionRequest;
      const { session, sessionID } = request;
      if (!session || sessionID === undefined) return;
      if (session[KEY_FIELD] === undefined) {
        session[KEY_FIELD] = sessionID;
        carryKeyIntoNextSession(request, res, sessionID);
      }
      warnIfCookieDiesFirst(session);
    },
    watch(req, res) {
      const key = (req as ExpressSessionRequest).session?.[KEY_FIELD];
      if (key !== undefined) carryKeyIntoNextSession(req, res, key);
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
      refuseAsync(key, 'getSessionKey', 'the session key');
      if (key === undefined || (typeof key === 'string' && key.length > 0)) return key;
      throw new SovendusConfigError('getSessionKey must return a non-empty string or undefined.');
    },
    setupFailed: logOnce(options.log),
    captured: () => false,
    mayHold: () => true,
    keep: () => undefined,
    watch: () => undefined,
  };
}
