import { withDeadline } from '../deadline.js';
import { SovendusStoreError } from '../errors.js';
import type { TokenStore } from '../types.js';

/**
 * Wraps a store so that no call can hold a shop request longer than `timeoutMs`, and every
 * failure is a typed `SovendusStoreError`. ioredis queues commands while it reconnects, so
 * without a deadline a Redis outage would stall every request that carries a token.
 *
 * A call that misses its deadline may still complete later; every store operation is safe
 * to land late (a save is the newest click anyway, a claim lease expires by itself).
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
    deleteToken: (key, token) => bounded('delete the token', () => store.deleteToken(key, token)),
    acquireClaim: (key, owner, leaseMs) =>
      bounded('claim the conversion', () => store.acquireClaim(key, owner, leaseMs)),
    completeClaim: (key, ttl) =>
      bounded('mark the conversion sent', () => store.completeClaim(key, ttl)),
    releaseClaim: (key, owner) =>
      bounded('release the conversion claim', () => store.releaseClaim(key, owner)),
  };
}
