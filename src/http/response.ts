import { SovendusError, SovendusUnavailableError, type SovendusErrorDetails } from '../errors.js';

/** An answer that was not a 200, read: the typed error, and its `Retry-After` if any. */
export interface FailedAttempt {
  ok: false;
  error: SovendusError;
  retryAfterMs?: number | undefined;
}

/** 429 and 5xx: both APIs mean "not now"; `message` says what else a 5xx may mean. */
export function transientFailure(
  details: SovendusErrorDetails & { status: number },
  retryAfterMs: number | undefined,
): FailedAttempt {
  return {
    ok: false,
    error: new SovendusUnavailableError(`HTTP ${details.status}`, details),
    retryAfterMs,
  };
}

/** 405 and anything else the protocol does not document. */
export function unexpectedStatus(
  { status, sovendusMessage }: { status: number; sovendusMessage: string | undefined },
  setting: string,
): FailedAttempt {
  return {
    ok: false,
    error: new SovendusError(
      'UNEXPECTED_STATUS',
      `Sovendus answered an unexpected HTTP ${status}${sovendusMessage === undefined ? '' : ` (${sovendusMessage})`}: check that ${setting} points at the Sovendus API.`,
      false,
      { status, sovendusMessage },
    ),
  };
}

/**
 * A redirect, which is never followed: it would carry the body, and the key in it, elsewhere.
 * Its status is unknown: fetch refuses the redirect before the caller sees the answer.
 */
export function redirected(setting: string): SovendusError {
  return new SovendusError(
    'UNEXPECTED_STATUS',
    `Sovendus answered with a redirect, which is never followed: check that ${setting} points at the Sovendus API.`,
    false,
  );
}
