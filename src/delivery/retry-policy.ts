/**
 * Every retry decision lives here, each rule with its reason.
 *
 * - Which failures are retried is decided where the error is made: only
 *   `SovendusUnavailableError` (5xx, 429, timeout, network) has `retryable: true`. 403, 404,
 *   405 and 422 are answers about our configuration or the token; asking again cannot change
 *   them and would only hide the problem.
 * - A retry is safe because a conversion is claimed before the first attempt: nobody else
 *   sends the same token or order meanwhile, and Sovendus counts one token once.
 */
export interface RetryPolicy {
  attempts: number;
  minDelayMs: number;
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

/** The longest a send can take: every attempt timing out, every wait at its cap. */
export function worstCaseSendMs(policy: RetryPolicy, timeoutMs: number): number {
  let total = policy.attempts * timeoutMs;
  for (let retry = 1; retry < policy.attempts; retry += 1) {
    total += Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** (retry - 1));
  }
  return total;
}

/** Reads `Retry-After` as seconds or as an HTTP date; `undefined` when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
