import { withDeadline } from '../deadline.js';
import { SovendusStoreError } from '../errors.js';
import type { TokenStore } from '../types.js';
import { readThenClaim } from './session-claims.js';

/** A store whose every call ends in time, with the checkout's shortcut always there. */
export type BoundedStore = Required<TokenStore>;

const stillLandingOf = new WeakMap<SovendusStoreError, Promise<unknown>>();

/**
 * What a claim that missed its deadline came to in the end: it may still land after the request
 * gave up on it, and would then hold every other sender off for its lease, so whoever took it
 * must see it through. `undefined` for any other error.
 */
export function stillLanding<T>(error: unknown): Promise<T> | undefined {
  return error instanceof SovendusStoreError
    ? (stillLandingOf.get(error) as Promise<T> | undefined)
    : undefined;
}

/**
 * Wraps a store so that no call can hold a shop request longer than `timeoutMs`, and every
 * failure is a typed `SovendusStoreError`. ioredis queues commands while it reconnects, so
 * without a deadline a Redis outage would stall every request that carries a token.
 *
 * A call that misses its deadline may still complete later. Most are safe to land late: a save
 * is the newest click anyway, a completion or a release is what happened (and the delivery
 * service records a completion again when it failed). A claim is not, so its error carries
 * what it still comes to (`stillLanding`).
 */
export function boundStore(store: TokenStore, timeoutMs: number): BoundedStore {
  const bounded = <T>(operation: string, work: () => Promise<T>, isClaim = false): Promise<T> =>
    withDeadline(
      work,
      timeoutMs,
      (pending) => {
        const error = new SovendusStoreError(
          operation,
          new Error(`no answer within ${timeoutMs} ms`),
        );
        if (isClaim) stillLandingOf.set(error, pending);
        return error;
      },
      (error) => new SovendusStoreError(operation, error),
    );
  const acquireSessionClaims =
    store.acquireSessionClaims?.bind(store) ??
    ((sessionKey, keys, owner, leaseMs) => readThenClaim(store, sessionKey, keys, owner, leaseMs));

  return {
    saveToken: (key, entry, ttl) =>
      bounded('save the token', () => store.saveToken(key, entry, ttl)),
    getToken: (key) => bounded('read the token', () => store.getToken(key)),
    acquireClaims: (keys, owner, leaseMs) =>
      bounded('claim the delivery', () => store.acquireClaims(keys, owner, leaseMs), true),
    acquireSessionClaims: (sessionKey, keys, owner, leaseMs) =>
      bounded(
        "claim the session's token",
        () => acquireSessionClaims(sessionKey, keys, owner, leaseMs),
        true,
      ),
    completeClaims: (keys, ttl, consumed) =>
      bounded('mark the delivery sent', () => store.completeClaims(keys, ttl, consumed)),
    releaseClaims: (keys, owner) =>
      bounded('release the delivery claims', () => store.releaseClaims(keys, owner)),
  };
}
