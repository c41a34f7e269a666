import { withDeadline } from '../deadline.js';
import { SovendusStoreError } from '../errors.js';
import type { TokenStore } from '../types.js';

/**
 * Wraps a store so that no call can hold a shop request longer than `timeoutMs`, and every
 * failure is a typed `SovendusStoreError`. ioredis queues commands while it reconnects, so
 * without a deadline a Redis outage would stall every request that carries a token.
 *
 * A call that misses its deadline may still complete later; every store operation is safe
 * to land late (a save is the newest click anyway, and the delivery service gives back a claim
 * it could not take in time, and records again a completion that failed).
 */
export function boundStore(store: TokenStore, timeoutMs: number): TokenStore {
  const bounded = <T>(operation: string, work: () => Promise<T>): Promise<T> =>
    withDeadline(
      work,
      timeoutMs,
      () => new SovendusStoreError(operation, new Error(`no answer within ${timeoutMs} ms`)),
      (error) => new SovendusStoreError(operation, error),
    );

  return {
    saveToken: (key, entry, ttl) =>
      bounded('save the token', () => store.saveToken(key, entry, ttl)),
    getToken: (key) => bounded('read the token', () => store.getToken(key)),
    acquireClaims: (keys, owner, leaseMs) =>
      bounded('claim the delivery', () => store.acquireClaims(keys, owner, leaseMs)),
    completeClaims: (keys, ttl, consumed) =>
      bounded('mark the delivery sent', () => store.completeClaims(keys, ttl, consumed)),
    releaseClaims: (keys, owner) =>
      bounded('release the delivery claims', () => store.releaseClaims(keys, owner)),
  };
}
