import {
  SovendusError,
  SovendusInvalidApiKeyError,
  SovendusInvalidParametersError,
  SovendusNotFoundError,
  SovendusUnavailableError,
} from '../errors.js';

export type AttemptOutcome =
  { ok: true } | { ok: false; error: SovendusError; retryAfterMs?: number | undefined };

const MAX_MESSAGE_LENGTH = 200;

/**
 * Sovendus answers `{"message": "..."}` or a bare JSON string. The message is shown to the shop
 * (in errors and logs), so it is shortened, and the API key is cut out in case it is echoed.
 */
export function readSovendusMessage(body: string, apiKey: string): string | undefined {
  let message: unknown = body;
  try {
    const parsed: unknown = JSON.parse(body);
    message =
      typeof parsed === 'object' && parsed !== null && 'message' in parsed
        ? parsed.message
        : parsed;
  } catch {
    // Not JSON: use the text as it is.
  }
  if (typeof message !== 'string') return undefined;
  const clean = message.split(apiKey).join('[redacted]').trim();
  if (clean === '') return undefined;
  return clean.length > MAX_MESSAGE_LENGTH ? `${clean.slice(0, MAX_MESSAGE_LENGTH)}…` : clean;
}

/** Maps one HTTP answer to success or a typed error, following the protocol's table. */
export function classifyResponse(
  status: number,
  sovendusMessage: string | undefined,
  retryAfterMs: number | undefined,
): AttemptOutcome {
  const details = { status, sovendusMessage };
  if (status === 200) return { ok: true };
  if (status === 403) return { ok: false, error: new SovendusInvalidApiKeyError(details) };
  if (status === 404) return { ok: false, error: new SovendusNotFoundError(details) };
  if (status === 422) return { ok: false, error: new SovendusInvalidParametersError(details) };
  if (status === 429 || status >= 500) {
    return {
      ok: false,
      error: new SovendusUnavailableError(`HTTP ${status}`, details),
      retryAfterMs,
    };
  }
  // 405, 3xx (we never follow redirects: they would carry the key elsewhere) and the rest.
  return {
    ok: false,
    error: new SovendusError(
      'UNEXPECTED_STATUS',
      `Sovendus answered an unexpected HTTP ${status}${sovendusMessage === undefined ? '' : ` (${sovendusMessage})`}: check that apiBaseUrl points at the Sovendus API.`,
      false,
      details,
    ),
  };
}
