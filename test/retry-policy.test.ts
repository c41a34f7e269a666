import { backoffDelayMs, parseRetryAfter } from '../src/http/retry-policy.js';

const policy = { attempts: 4, minDelayMs: 100, maxDelayMs: 1_000 };
const lowest = () => 0;
const highest = () => 1;

describe('backoff', () => {
  it('doubles each retry, with jitter between half and all of the nominal wait', () => {
    expect([1, 2, 3].map((retry) => backoffDelayMs(retry, policy, undefined, lowest))).toEqual([
      50, 100, 200,
    ]);
    expect([1, 2, 3].map((retry) => backoffDelayMs(retry, policy, undefined, highest))).toEqual([
      100, 200, 400,
    ]);
  });

  it('never waits longer than maxDelayMs', () => {
    expect(backoffDelayMs(10, policy, undefined, highest)).toBe(1_000);
  });

  it('honours a longer Retry-After, up to maxDelayMs', () => {
    expect(backoffDelayMs(1, policy, 700, lowest)).toBe(700);
    expect(backoffDelayMs(1, policy, 60_000, lowest)).toBe(1_000);
    expect(backoffDelayMs(2, policy, 10, highest)).toBe(200);
  });
});

describe('Retry-After', () => {
  it('reads seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2_000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:03 GMT', now)).toBe(3_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
