import type { ErrorRequestHandler, RequestHandler } from 'express';
import { layout, serverErrorPage, sessionsDownPage } from './views';

/** What express-session passed on: its store failed (Redis away, for the example). */
class SessionStoreError extends Error {
  constructor(cause: unknown) {
    super('the session store failed', { cause });
  }
}

/** express-session, with the errors of its store marked as such for the error page. */
export function sessionsWithMarkedErrors(sessions: RequestHandler): RequestHandler {
  return (req, res, next) => {
    void sessions(req, res, (error?: unknown) => {
      next(error === undefined ? undefined : new SessionStoreError(error));
    });
  };
}

/** The last handler: logs one line, and answers with a page when nothing was sent yet. */
export const errorPage: ErrorRequestHandler = (error: unknown, _req, res, _next) => {
  const sessionsDown = error instanceof SessionStoreError;
  const cause: unknown = sessionsDown ? error.cause : error;
  const reason = cause instanceof Error ? cause.message : String(cause);
  console.error(`  ✗ ${sessionsDown ? 'session store' : 'page'} failed: ${reason}`);
  if (res.headersSent) {
    // express-session saves a session after its page went out: nothing is left to answer,
    // unless the page was cut short, and then the browser must not take it for whole.
    if (!res.writableEnded) res.destroy();
    return;
  }
  // No token in the header: reading it may be what failed.
  res
    .status(sessionsDown ? 503 : 500)
    .send(
      sessionsDown
        ? layout('Back in a moment', undefined, sessionsDownPage())
        : layout('Something went wrong', undefined, serverErrorPage()),
    );
};
