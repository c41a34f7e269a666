import { SovendusUnavailableError, type SovendusError } from '../errors.js';
import { backoffDelayMs, parseRetryAfter, type RetryPolicy } from './retry-policy.js';
import { classifyResponse, readSovendusMessage, type AttemptOutcome } from './response.js';

export interface ConversionApiOptions {
  apiKey: string;
  apiBaseUrl: string;
  timeoutMs: number;
  retry: RetryPolicy;
  fetch: typeof globalThis.fetch;
}

export type ApiOutcome =
  { ok: true; attempts: number } | { ok: false; error: SovendusError; attempts: number };

export interface ConversionApi {
  /** Posts one conversion, retrying transient failures. Never rejects. */
  send(productId: string, token: string): Promise<ApiOutcome>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Both parts are validated already (which is what keeps out "." and "..": URL parsers resolve
 * those even percent-encoded); encoding them too means no other character can reshape the URL.
 */
export function conversionUrl(apiBaseUrl: string, productId: string, token: string): string {
  return `${apiBaseUrl}/ext/${encodeURIComponent(productId)}/${encodeURIComponent(token)}/api`;
}

/**
 * The HTTP client for `POST /ext/{productId}/{token}/api`. The API key lives only in this
 * closure and in the request body: never in a URL, a header, an error or a log line.
 */
export function createConversionApi(options: ConversionApiOptions): ConversionApi {
  const { apiKey, apiBaseUrl, timeoutMs, retry } = options;
  const fetchImpl = options.fetch;
  const body = JSON.stringify({ apiKey });

  async function attempt(url: string): Promise<AttemptOutcome> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
      controller.abort();
    }, timeoutMs);
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
        signal: controller.signal,
        redirect: 'manual',
      });
      const message = readSovendusMessage(await response.text(), apiKey);
      return classifyResponse(
        response.status,
        message,
        parseRetryAfter(response.headers.get('retry-after')),
      );
    } catch (error) {
      const reason = controller.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : 'the connection failed';
      return { ok: false, error: new SovendusUnavailableError(reason, { cause: error }) };
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    async send(productId, token) {
      const url = conversionUrl(apiBaseUrl, productId, token);
      for (let attempts = 1; ; attempts += 1) {
        const outcome = await attempt(url);
        if (outcome.ok) return { ok: true, attempts };
        if (!outcome.error.retryable || attempts >= retry.attempts) {
          return { ok: false, error: outcome.error, attempts };
        }
        await sleep(backoffDelayMs(attempts, retry, outcome.retryAfterMs));
      }
    },
  };
}
