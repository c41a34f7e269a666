import { SovendusStoreError } from '../errors.js';
import type { TokenStore } from '../types.js';
import type { StoreBreaker } from './store-breaker.js';
import { couponCodeAnswer, tokenAnswer } from './store-answers.js';

/** A session's voucher code (of a Sovendus link), through a bounded store. */
export interface CouponCodeCalls {
  /** `TokenStore.saveCouponCode`. */
  save: (sessionKey: string, couponCode: string, ttlSeconds: number) => Promise<void>;
  /** `TokenStore.getCouponCode`: a code held to the rule it was saved by, never `null`. */
  get: (sessionKey: string) => Promise<string | undefined>;
  /** `TokenStore.deleteCouponCode`. */
  delete: (sessionKey: string, couponCode?: string) => Promise<void>;
}

/**
 * The store calls a request makes outside the claims: saving, reading and deleting tokens, and
 * `couponCodes` when the store keeps voucher codes (all three of its methods, which only work
 * together; else `undefined`).
 */
export type BoundedStore = Pick<TokenStore, 'saveToken' | 'getToken' | 'deleteToken'> & {
  couponCodes: CouponCodeCalls | undefined;
};

/** A store that keeps voucher codes. */
type CouponCodeStore = TokenStore &
  Required<Pick<TokenStore, 'saveCouponCode' | 'getCouponCode' | 'deleteCouponCode'>>;

/** Whether a store keeps voucher codes: it has the three methods, which only work together. */
const keepsCouponCodes = (store: TokenStore): store is CouponCodeStore =>
  typeof store.saveCouponCode === 'function' &&
  typeof store.getCouponCode === 'function' &&
  typeof store.deleteCouponCode === 'function';

/**
 * `store` through its breaker, with no call holding a shop request longer than `timeoutMs` (the
 * breaker's own deadline, so one timer serves both), and every failure a typed
 * `SovendusStoreError`. ioredis queues commands while it reconnects, so without a deadline a
 * Redis outage would stall every request that carries a token. A save that misses its deadline
 * may still be saved later: it is the newest click anyway. (Claims are bounded by the claim ledger,
 * which also sees late replies through.)
 */
export function boundStore(
  store: TokenStore,
  breaker: StoreBreaker,
  timeoutMs: number,
): BoundedStore {
  const bounded = <T>(operation: string, work: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const missed = () => {
        reject(new SovendusStoreError(operation, new Error(`no answer within ${timeoutMs} ms`)));
      };
      const failed = (error: unknown) => {
        reject(new SovendusStoreError(operation, error));
      };
      try {
        breaker.start(work, missed).then(resolve, failed);
      } catch (error) {
        // A store that throws instead of rejecting fails as one that rejects.
        failed(error);
      }
    });
  return {
    saveToken: (key, entry, ttl) =>
      bounded('save the token', () => store.saveToken(key, entry, ttl)),
    // A store that answers null (many database clients do) has no token either; an answer of
    // another shape is a store failure.
    getToken: (key) =>
      bounded('read the token', async () => tokenAnswer(await store.getToken(key))),
    // Optional in a store (forget() says so when it is missing).
    ...(store.deleteToken && {
      deleteToken: (key: string) =>
        bounded('delete the token', async () => store.deleteToken?.(key)),
    }),
    couponCodes: keepsCouponCodes(store)
      ? {
          save: (key, couponCode, ttl) =>
            bounded('save the voucher code', () => store.saveCouponCode(key, couponCode, ttl)),
          // Held to the rule it was saved by: it goes to Sovendus and onto the shop's pages.
          get: (key) =>
            bounded('read the voucher code', async () =>
              couponCodeAnswer(await store.getCouponCode(key)),
            ),
          delete: (key, couponCode) =>
            bounded('delete the voucher code', () => store.deleteCouponCode(key, couponCode)),
        }
      : undefined,
  };
}
