import { SovendusUnavailableError, type SovendusError } from '../errors.js';
import {
  readSovendusMessage,
  redirected,
  type AttemptOutcome,
  type FailedAttempt,
} from './response.js';
import { backoffDelayMs, parseRetryAfter, type RetryPolicy } from './retry-policy.js';

export interface ApiSenderOptions {
  timeoutMs: number;
  retry: RetryPolicy;
  fetch: typeof globalThis.fetch;
}

/** One call to a Sovendus API: where, what, and how to read its answers. */
export interface ApiCall {
  url: string;
  /** The JSON body, already serialized. */
  body: string;
  /**
   * Maps an answer other than 200 (the one success both APIs know) to a typed error; the
   * API's own table decides.
   */
  classifyFailure: (
    status: number,
    sovendusMessage: string | undefined,
    retryAfterMs: number | undefined,
  ) => FailedAttempt;
  /** The option that names this API's base URL, for answers that say it points elsewhere. */
  baseUrlOption: string;
  /** A secret in the body that must never come back out in a message (the API key). */
  secret?: string | undefined;
}

export type ApiOutcome =
  { ok: true; attempts: number } | { ok: false; error: SovendusError; attempts: number };

export interface ApiSender {
  /** Posts the call, retrying transient failures by the retry policy. Never rejects. */
  send(call: ApiCall): Promise<ApiOutcome>;
}

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;

/**
 * Under `redirect: 'error'`, the global fetch rejects a redirect with this cause. Another fetch
 * (the `fetch` option) may word it differently: its refusal then reads as a connection failure.
 */
const isRedirectRefusal = (error: unknown): boolean =>
  // Read by shape: the error may come from another realm (a vm context), where instanceof fails.
  (error as { cause?: { message?: unknown } } | undefined)?.cause?.message ===
  'unexpected redirect';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The HTTP client both Sovendus APIs share: one timeout per attempt, retries with backoff,
 * redirects never followed (they would carry the body, and the key in it, elsewhere).
 */
export function createApiSender(options: ApiSenderOptions): ApiSender {
  const { timeoutMs, retry } = options;
  const fetchImpl = options.fetch;

  async function attempt({
    url,
    body,
    classifyFailure,
    baseUrlOption,
    secret,
  }: ApiCall): Promise<AttemptOutcome> {
    const controller = new AbortController();
    // The abort waits for the event loop's next round of I/O: when the process itself stalled
    // past the timeout (a long GC, a busy shop), an answer that arrived meanwhile is read, not
    // thrown away and sent again (Sovendus has counted it).
    let abortAfterIo: NodeJS.Immediate | undefined;
    const timer = setTimeout(() => {
      abortAfterIo = setImmediate(() => {
        controller.abort();
      });
    }, timeoutMs);
    try {
      const response = await fetchImpl(url, {
        method: 'POST',
        headers: JSON_HEADERS,
        body,
        signal: controller.signal,
        // 'error' rather than 'manual': besides refusing a redirect, it spares fetch a clone of
        // the request and a tee of its body on every call (a sixth of a checkout's instructions).
        redirect: 'error',
      });
      // Read to the end either way, so the connection can be reused; only a failure's
      // message and Retry-After matter, so a 200 (nearly every call) skips parsing them.
      const text = await response.text();
      if (response.status === 200) return { ok: true };
      return classifyFailure(
        response.status,
        readSovendusMessage(text, secret),
        parseRetryAfter(response.headers.get('retry-after')),
      );
    } catch (error) {
      if (isRedirectRefusal(error)) return redirected(baseUrlOption);
      const reason = controller.signal.aborted
        ? `no answer within ${timeoutMs} ms`
        : 'the connection failed';
      return { ok: false, error: new SovendusUnavailableError(reason, { cause: error }) };
    } finally {
      clearTimeout(timer);
      clearImmediate(abortAfterIo);
    }
  }

  return {
    async send(call) {
      for (let attempts = 1; ; attempts += 1) {
        const outcome = await attempt(call);
        if (outcome.ok) return { ok: true, attempts };
        if (!outcome.error.retryable || attempts >= retry.attempts) {
          return { ok: false, error: outcome.error, attempts };
        }
        await sleep(backoffDelayMs(attempts, retry, outcome.retryAfterMs));
      }
    },
  };
}
