/**
 * How long to wait between attempts. Whether another attempt is made at all is decided in
 * `api-sender.ts`, each rule with its reason:
 *
 * - Only `SovendusUnavailableError` (5xx, 429, no answer, no connection) is `retryable`. 403,
 *   404, 405 and 422 are answers about our configuration or the token; asking again cannot
 *   change them and would only hide the problem.
 * - A conversion is claimed before the first attempt, so nobody else sends the same token or
 *   order meanwhile. That does not make every retry safe: Sovendus' API has no idempotency
 *   key, and nothing says it counts a token once. A retry after a 5xx, a 429 or a refused
 *   connection repeats a call that was surely not taken; a retry after no answer or a broken
 *   connection may double one, and is reported as a `resend`.
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** The first backoff delay; it doubles each retry, with jitter. */
  minDelayMs: number;
  /** The longest backoff delay, and the cap on a `Retry-After`. */
  maxDelayMs: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry).
 *
 * - Exponential: each wait doubles, so a struggling API gets more room each time.
 * - Equal jitter (half fixed, half random): many shop instances that failed together do not
 *   retry in lockstep, and no wait is ever shorter than half the nominal one.
 * - A `Retry-After` from Sovendus wins when it is longer, but everything is capped at
 *   `maxDelayMs`, because a shop request is waiting.
 */
export function backoffDelayMs(
  retry: number,
  policy: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs'>,
  retryAfterMs: number | undefined,
  random: () => number = Math.random,
): number {
  const nominal = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (retry - 1));
  const jittered = nominal / 2 + (random() * nominal) / 2;
  return Math.round(Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0)));
}

/**
 * How often a sent delivery that the store failed to record is recorded again. Nobody waits
 * for it, so it can wait long; it starts short because most outages are blips, and the claims'
 * leases (which keep other senders out meanwhile) run out after some seconds.
 */
export const RECORD_RETRY: Pick<RetryPolicy, 'minDelayMs' | 'maxDelayMs'> = {
  minDelayMs: 50,
  maxDelayMs: 1_000,
};

/** Reads `Retry-After` as seconds or as an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
