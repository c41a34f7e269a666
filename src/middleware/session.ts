import type { IncomingMessage } from 'node:http';
import { SovendusConfigError } from '../errors.js';

export const MISSING_SESSION =
  'sovendus-express found no session on the request: add express-session (app.use(session(...))) ' +
  'before sovendus.capture(), or pass the getSessionKey option for another session library.';

interface ExpressSessionRequest extends IncomingMessage {
  session?: Record<string, unknown> | null;
  sessionID?: string;
}

export interface SessionAccess {
  /** The key tokens are stored under; throws `SovendusConfigError` when sessions are not set up. */
  keyOf(req: IncomingMessage): string | undefined;
  /** Makes sure the session outlives this request (see below). */
  keep(req: IncomingMessage): void;
}

/**
 * express-session by default: the key is `req.sessionID`. With `saveUninitialized: false` (the
 * usual setting) a new, untouched session is never saved and its cookie never sent, so the
 * visitor who landed would come back as a stranger. Writing the capture time into the session
 * marks it modified, which saves it and sets the cookie.
 */
const expressSession: SessionAccess = {
  keyOf(req) {
    const { session, sessionID } = req as ExpressSessionRequest;
    if (typeof session !== 'object' || session === null) {
      throw new SovendusConfigError(MISSING_SESSION);
    }
    return sessionID;
  },
  keep(req) {
    const { session } = req as ExpressSessionRequest;
    if (session) session.sovendusCapturedAt = Date.now();
  },
};

/** With a custom `getSessionKey`, the shop's own session library is in charge of persistence. */
export function sessionAccess(
  getSessionKey: ((req: IncomingMessage) => string | undefined) | undefined,
): SessionAccess {
  if (getSessionKey === undefined) return expressSession;
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
