import { withDeadline } from '../deadline.js';
import { SovendusStoreError } from '../errors.js';
import type { TokenStore } from '../types.js';
import { tokenAnswer } from './store-answers.js';

/** The store calls a request makes outside the claims: saving and reading tokens. */
export type BoundedStore = Pick<TokenStore, 'saveToken' | 'getToken'>;

/**
 * Wraps a store so that no call can hold a shop request longer than `timeoutMs`, and every
 * failure is a typed `SovendusStoreError`. ioredis queues commands while it reconnects, so
 * without a deadline a Redis outage would stall every request that carries a token. A save
 * that misses its deadline may still be saved later: it is the newest click anyway. (Claims
 * are bounded by the claim ledger, which also sees late replies through.)
 */
export function boundStore(store: TokenStore, timeoutMs: number): BoundedStore {
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
    // A store that answers null (many database clients do) has no token either; an answer of
    // another shape is a store failure.
    getToken: (key) =>
      bounded('read the token', async () => tokenAnswer(await store.getToken(key))),
  };
}
