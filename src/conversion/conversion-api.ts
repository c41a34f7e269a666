import {
  SovendusInvalidApiKeyError,
  SovendusInvalidParametersError,
  SovendusNotFoundError,
} from '../errors.js';
import type { ApiCall, ApiOutcome, ApiSender, SendWatcher } from '../http/api-sender.js';
import { transientFailure, unexpectedStatus } from '../http/response.js';
import { maskToken } from './token.js';

/** The conversion API of Sovendus, as the delivery service calls it. */
export interface ConversionApi {
  /** Posts one conversion, retrying transient failures. Never rejects. */
  send(productId: string, token: string, watcher: SendWatcher): Promise<ApiOutcome>;
}

/**
 * Both parts are validated already (which is what keeps out "." and "..": URL parsers resolve
 * those even percent-encoded); encoding them too means no other character can reshape the URL.
 */
export function conversionUrl(apiBaseUrl: string, productId: string, token: string): string {
  return `${apiBaseUrl}/ext/${encodeURIComponent(productId)}/${encodeURIComponent(token)}/api`;
}

/** Maps a failed answer of the conversion API to a typed error, by the protocol's table. */
export const classifyConversionFailure: ApiCall['classifyFailure'] = (
  status,
  sovendusMessage,
  retryAfterMs,
) => {
  const details = { status, sovendusMessage };
  if (status === 403) return { ok: false, error: new SovendusInvalidApiKeyError(details) };
  if (status === 404) return { ok: false, error: new SovendusNotFoundError(details) };
  if (status === 422) return { ok: false, error: new SovendusInvalidParametersError(details) };
  if (status === 429 || status >= 500) return transientFailure(details, retryAfterMs);
  return unexpectedStatus(details, 'apiBaseUrl');
};

/**
 * `POST /ext/{productId}/{token}/api`. The API key lives only in this closure and in the
 * request body: never in a URL, a header, an error or a log line.
 */
export function createConversionApi(options: {
  apiKey: string;
  apiBaseUrl: string;
  sender: ApiSender;
}): ConversionApi {
  const { apiKey, apiBaseUrl, sender } = options;
  const body = JSON.stringify({ apiKey });
  return {
    send: (productId, token, watcher) =>
      sender.send(
        {
          url: conversionUrl(apiBaseUrl, productId, token),
          body,
          classifyFailure: classifyConversionFailure,
          baseUrlOption: 'apiBaseUrl',
          secret: apiKey,
          shown: () => ({
            api: 'conversion',
            template: '/ext/{productId}/{token}/api',
            url: conversionUrl(apiBaseUrl, productId, 'REDACTED'),
            token: maskToken(token),
          }),
        },
        watcher,
      ),
  };
}
