import { afterTimeAndIo } from '../deadline.js';
import { SovendusUnavailableError, type SovendusError } from '../errors.js';
import type { ResendReason } from '../types.js';
import { readBodyCapped } from './read-body.js';
import { redirected, type FailedAttempt } from './response.js';
import { readSovendusMessage } from './sovendus-message.js';
import { backoffDelayMs, parseRetryAfter, type RetryPolicy } from './retry-policy.js';

/** The options `createApiSender` takes: the timing options, retries, and the `fetch`. */
export interface ApiSenderOptions {
  /** How long after a send began another attempt may still begin: the caller's wait. */
  waitMs: number;
  /** The hard limit of one attempt, whatever `fetch` does with its signal. */
  sendLimitMs: number;
  /** The `retry` option, resolved. */
  retry: RetryPolicy;
  /** The `fetch` option, or the global one. */
  fetch: typeof globalThis.fetch;
  /** Hears each attempt (the telemetry's spans and answer times); none: nobody does. */
  watch?: AttemptWatch | undefined;
}

/**
 * What may be shown of a call outside the package (in telemetry): nothing secret, the token at
 * most as its first 8 characters.
 */
export interface ShownCall {
  /** Which Sovendus API. */
  api: 'conversion' | 'coupon';
  /** The route, its variable parts named: `/ext/{productId}/{token}/api`. */
  template: string;
  /** The URL with the token replaced by `REDACTED`. */
  url: string;
  /** A conversion's token, as log lines show it: its first 8 characters and `…`. */
  token?: string | undefined;
}

/** One call to a Sovendus API: where, what, and how to read its answers. */
export interface ApiCall {
  /** Where to post it. */
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
  /** What may be shown of it; asked only when an attempt is watched. */
  shown(): ShownCall;
}

/** Hears each attempt of a call to Sovendus. */
export interface AttemptWatch {
  /** An attempt (the `attempt`-th of its send, from 1) begins. Never throws. */
  begin(call: ApiCall, attempt: number): WatchedAttempt;
}

/** One attempt, watched from its beginning. */
export interface WatchedAttempt {
  /** Makes the request within the attempt's own context (its span, for a nested HTTP span). */
  within<T>(request: () => T): T;
  /** The attempt ended: Sovendus' HTTP status when it answered, the error when it failed. Never throws. */
  end(status: number | undefined, error: SovendusError | undefined): void;
}

/**
 * What a send came to. `unknown`: its last attempt may have been taken by Sovendus (no answer
 * within the hard limit, or the connection broke after the call was sent), so whoever sends it
 * again may double it.
 */
export type ApiOutcome =
  | { ok: true; attempts: number }
  | { ok: false; error: SovendusError; attempts: number; unknown: boolean };

/** Follows a send while it runs. */
export interface SendWatcher {
  /** Attempts begun so far; the sender counts them here. */
  attempts: number;
  /** Hears of each attempt made after an unknown outcome, before it is made. */
  resend(reason: ResendReason): void;
}

/** Posts calls to Sovendus by the retry rules of this file. */
export interface ApiSender {
  /** Posts the call, and again by the rules below while the caller's wait lasts. Never rejects. */
  send(call: ApiCall, watcher: SendWatcher): Promise<ApiOutcome>;
}

/** What became of one attempt (its fate), as the retry rules below read it. */
type AttemptFate =
  | { fate: 'accepted' }
  /** Surely not taken: a 5xx or 429 answer, or no connection at all. Safe to repeat. */
  | { fate: 'refused'; error: SovendusError; retryAfterMs?: number | undefined }
  /** Maybe taken: repeating it may double it. */
  | { fate: 'unknown'; error: SovendusError; reason: ResendReason }
  /** An answer about the setup or the input (403, 404, 422...): asking again cannot help. */
  | { fate: 'final'; error: SovendusError };

const JSON_HEADERS = { 'content-type': 'application/json', accept: 'application/json' } as const;

/**
 * Errors that prove the call never left: the connection was not made. Any other failure
 * before an answer (a reset, "other side closed") may come after Sovendus read the call.
 */
const NOT_CONNECTED = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

// Read by shape: the error may come from another realm (a vm context), where instanceof fails.
interface ErrorShape {
  cause?: { message?: unknown; code?: unknown; errors?: { code?: unknown }[] };
}

const neverConnected = (error: unknown): boolean => {
  const cause = (error as ErrorShape | undefined)?.cause;
  // Several addresses tried (happy eyeballs) fail as one AggregateError.
  const code = cause?.code ?? cause?.errors?.[0]?.code;
  return typeof code === 'string' && NOT_CONNECTED.has(code);
};

/**
 * Under `redirect: 'error'`, the global fetch rejects a redirect with this cause. Another fetch
 * (the `fetch` option) may word it differently: its refusal then reads as a lost connection.
 */
const isRedirectRefusal = (error: unknown): boolean =>
  (error as ErrorShape | undefined)?.cause?.message === 'unexpected redirect';

const LIMIT_REACHED = Symbol('limit reached');

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The HTTP client both Sovendus APIs share, and the one place that decides whether a call is
 * made again. Redirects are never followed (they would carry the body, and the key in it,
 * elsewhere).
 */
export function createApiSender(options: ApiSenderOptions): ApiSender {
  const { waitMs, sendLimitMs, retry, watch } = options;
  const fetchImpl = options.fetch;

  async function attempt(call: ApiCall, watched: WatchedAttempt | undefined): Promise<AttemptFate> {
    const controller = new AbortController();
    // The hard limit holds even for a `fetch` that ignores its signal: we stop waiting for it.
    // An answer that arrived while the process stalled is read, not taken for lost.
    let reachLimit: (reached: typeof LIMIT_REACHED) => void = () => undefined;
    const limit = new Promise<typeof LIMIT_REACHED>((resolve) => (reachLimit = resolve));
    const stopClock = afterTimeAndIo(sendLimitMs, () => {
      controller.abort();
      reachLimit(LIMIT_REACHED);
    });
    let draining = false;
    try {
      const request = () =>
        fetchImpl(call.url, {
          method: 'POST',
          headers: JSON_HEADERS,
          body: call.body,
          signal: controller.signal,
          // 'error' rather than 'manual': besides refusing a redirect, it spares fetch a clone
          // of the request and a tee of its body on every call (a sixth of a checkout's
          // instructions).
          redirect: 'error',
        });
      const response = await Promise.race([
        watched === undefined ? request() : watched.within(request),
        limit,
      ]);
      if (response === LIMIT_REACHED) return noAnswer();
      // The status line decides. A 200 is taken whatever its body does: the body is read off
      // the path (capped, within the limit) only so that the connection can be used again.
      if (response.status === 200) {
        draining = true;
        void readBodyCapped(response, limit).finally(stopClock);
        return { fate: 'accepted' };
      }
      const text = await readBodyCapped(response, limit);
      const failure = call.classifyFailure(
        response.status,
        readSovendusMessage(text, call.secret),
        parseRetryAfter(response.headers.get('retry-after')),
      );
      return failure.error.retryable
        ? { fate: 'refused', error: failure.error, retryAfterMs: failure.retryAfterMs }
        : { fate: 'final', error: failure.error };
    } catch (error) {
      if (isRedirectRefusal(error)) return { fate: 'final', error: redirected(call.baseUrlOption) };
      if (controller.signal.aborted) return noAnswer(error);
      if (neverConnected(error)) {
        const unavailable = new SovendusUnavailableError('the connection failed', { cause: error });
        return { fate: 'refused', error: unavailable };
      }
      const lost = new SovendusUnavailableError('the connection broke before an answer', {
        cause: error,
      });
      return { fate: 'unknown', error: lost, reason: 'connection-lost' };
    } finally {
      if (!draining) stopClock();
    }
  }

  const noAnswer = (cause?: unknown): AttemptFate => ({
    fate: 'unknown',
    error: new SovendusUnavailableError(`no answer within ${sendLimitMs} ms`, { cause }),
    reason: 'no-answer',
  });

  return {
    async send(call, watcher) {
      const waitEnds = Date.now() + waitMs;
      for (let attempts = 1; ; attempts += 1) {
        watcher.attempts = attempts;
        const watched = watch?.begin(call, attempts);
        const attempted = await attempt(call, watched);
        if (attempted.fate === 'accepted') {
          watched?.end(200, undefined);
          return { ok: true, attempts };
        }
        watched?.end(attempted.error.status, attempted.error);
        const unknown = attempted.fate === 'unknown';
        const failed = { ok: false, error: attempted.error, attempts, unknown } as const;
        // An answer about the setup or the input is the same next time: never repeated.
        if (attempted.fate === 'final') return failed;
        // The retry policy's count, so a struggling API is not hammered.
        if (attempts >= retry.attempts) return failed;
        // No attempt begins once the caller stopped waiting: the queue or the next checkout
        // takes over, through the claims, with no call of ours left in flight to race.
        const delay = backoffDelayMs(
          attempts,
          retry,
          attempted.fate === 'refused' ? attempted.retryAfterMs : undefined,
        );
        if (Date.now() + delay >= waitEnds) return failed;
        await sleep(delay);
        // Sovendus may have taken the last call: this one may count twice. Said, so it can be
        // counted; not avoided, because the alternative is losing the conversion.
        if (unknown) watcher.resend(attempted.reason);
      }
    },
  };
}
