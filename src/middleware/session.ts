import type { IncomingMessage } from 'node:http';
import { SovendusConfigError } from '../errors.js';
import type { Log } from '../logging.js';

export const MISSING_SESSION =
  'sovendus-express found no session on the request: add express-session (app.use(session(...))) ' +
  'before sovendus.capture(), or pass the getSessionKey option for another session library.';

/** The session field that names the token's store key (the session id at first capture). */
const KEY_FIELD = 'sovendusKey';
const PATCHED = Symbol.for('sovendus-express.carriesToken');

interface ExpressSession {
  [KEY_FIELD]?: string;
  cookie?: { originalMaxAge?: number | null };
  destroy?: (callback?: (error?: unknown) => void) => unknown;
}

interface SessionStore {
  generate?: ((req: IncomingMessage) => void) & { [PATCHED]?: true };
}

interface ExpressSessionRequest extends IncomingMessage {
  session?: ExpressSession | null;
  sessionID?: string;
  sessionStore?: SessionStore;
}

export interface SessionAccess {
  /** The key tokens are stored under; throws `SovendusConfigError` when sessions are not set up. */
  keyOf(req: IncomingMessage): string | undefined;
  /** Makes sure the session outlives this request, and the token outlives the session id. */
  keep(req: IncomingMessage): void;
}

// Sessions destroyed in this request that held a token: a new session made in the same
// request (a login flow) takes the token over.
const orphans = new WeakMap<IncomingMessage, string>();

/**
 * A session id changes when a shop calls `req.session.regenerate()` at login (Passport 0.6+
 * does), or destroys the session and makes a new one; the session's data is wiped too. So the
 * token is stored under the session id *at capture*, which the session remembers in
 * `sovendusKey`, and express-session's `store.generate` and `Session#destroy` are wrapped to
 * hand that field to the new session. The wrappers act only for sessions that hold a token.
 */
function carryTokenAcrossNewSessions(req: ExpressSessionRequest): void {
  const store = req.sessionStore;
  const generate = store?.generate;
  if (store === undefined || typeof generate !== 'function' || generate[PATCHED]) return;

  const carryingGenerate = Object.assign(
    function generateCarryingToken(this: unknown, target: IncomingMessage) {
      const request = target as ExpressSessionRequest;
      const key = request.session?.[KEY_FIELD] ?? orphans.get(request);
      generate.call(this, request);
      orphans.delete(request);
      if (key !== undefined && request.session) request.session[KEY_FIELD] = key;
    },
    { [PATCHED]: true as const },
  );
  store.generate = carryingGenerate;

  const prototype = Object.getPrototypeOf(req.session) as ExpressSession & { [PATCHED]?: true };
  const destroy = prototype.destroy;
  if (typeof destroy !== 'function' || prototype[PATCHED]) return;
  Object.defineProperty(prototype, PATCHED, { value: true });
  Object.defineProperty(prototype, 'destroy', {
    configurable: true,
    writable: true,
    value: function destroyKeepingToken(
      this: ExpressSession & { req?: IncomingMessage },
      callback?: (error?: unknown) => void,
    ) {
      const key = this[KEY_FIELD];
      if (key !== undefined && this.req) orphans.set(this.req, key);
      return destroy.call(this, callback);
    },
  });
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
      session[KEY_FIELD] ??= sessionID;
      warnIfCookieDiesFirst(session);
      carryTokenAcrossNewSessions(request);
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
    keep: () => undefined,
  };
}
