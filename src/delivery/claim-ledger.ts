import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { withDeadline } from '../deadline.js';
import { SovendusStoreError } from '../errors.js';
import type { Log } from '../logging.js';
import type {
  ClaimKeysOf,
  ClaimLease,
  ClaimOutcome,
  ConsumedToken,
  StoredToken,
  TokenStore,
} from '../types.js';
import { readThenClaim } from '../stores/session-claims.js';
import { claimAnswer, sessionClaimsAnswer } from '../stores/store-answers.js';
import { backoffDelayMs, RECORD_RETRY } from '../http/retry-policy.js';

/*
 * Exactly once, in one place. Every delivery (a conversion, a coupon redemption) is sent only
 * by whoever holds its claims in the shared store, and this module decides what each claim is
 * called and what becomes of it:
 *
 * 1. Names. A token converts once per product, whoever sends it; an order converts once per
 *    product (a shop may run a German and an Austrian campaign whose order numbers overlap);
 *    a voucher code is redeemed once per order.
 * 2. Take. All of a delivery's claims at once, for a lease longer than any send can last.
 *    `held`: another sender has it now. `completed`: it was accepted before. `resumed`: a
 *    sender's lease ran out before it settled, so its call may have been taken: the caller
 *    sends, and says so.
 * 3. Settle. Accepted: the claims become "sent" for `ttlSeconds` and the session's token goes.
 *    Surely not accepted: the claims are released, so a retry can take them at once. Unknown
 *    (maybe accepted), or resumed from a sender whose call may have been: the claims are kept
 *    until their lease ends; whoever takes them then gets `resumed` and reports a resend.
 * 4. Late replies. A store call that misses the request's deadline may still be answered. A
 *    take answered late would keep every other sender out for its lease while nobody sends, so
 *    it is handed over (`onLateClaim`, which queues the delivery) and released; a take that
 *    failed outright is made again off the request until it is answered, then likewise. A record of an
 *    accepted delivery that fails is tried again, off the request, for as long as the lease
 *    keeps other senders out; past that a second send is possible, and logged as an error.
 */

/** A token converts once per product, whoever sends it. */
export const tokenClaimKey = (productId: string, token: string): string =>
  `conversion:${productId}:${token}`;

/** An order converts once per product: a double-submitted checkout is one conversion. */
export const orderClaimKey = (productId: string, orderId: string): string =>
  `order:${productId}:${orderId}`;

/**
 * One redemption per order and code; without an order id, per code (Sovendus only lets shops
 * leave it out when codes are unique per customer). JSON, since both may hold ':'. A call's
 * traffic source is not part of it: it says whose account the redemption counts for, not which
 * redemption it is, and an order used its code once, so a second call naming another source
 * (a retry after the shop's settings changed) is the same redemption, reported once.
 */
export const couponClaimKey = (orderId: string | undefined, couponCode: string): string =>
  `coupon:${JSON.stringify([orderId ?? null, couponCode])}`;

/** The claims of a token's conversion: the token's own, then its order's. */
export const conversionClaimKeys =
  (orderId: string | undefined): ClaimKeysOf =>
  ({ productId, token }) =>
    orderId === undefined
      ? [tokenClaimKey(productId, token)]
      : [tokenClaimKey(productId, token), orderClaimKey(productId, orderId)];

/** A session's voucher code (a Sovendus link's) that a redemption used up. */
export interface ConsumedCouponCode {
  /** The session whose code it is. */
  sessionKey: string;
  /** Deleted only while the session still holds this code: a newer link is kept. */
  couponCode: string;
}

/** What an accepted delivery uses up in its session: its token, or its voucher code. */
export type UsedUp = ConsumedToken | ConsumedCouponCode;

/** Claims this sender holds, until `endsAt`. */
export interface Claim {
  /** The store keys of the claims. */
  keys: readonly string[];
  /** Who holds them: one owner per take. */
  owner: string;
  /** When the lease ends, in milliseconds since the epoch. */
  endsAt: number;
  /** `resumed`: an earlier sender's call may have been taken; sending may double it. */
  outcome: 'acquired' | 'resumed';
}

/** What taking a delivery's claims came to. */
export type Taken =
  | Claim
  | { outcome: 'held' }
  | { outcome: 'completed' }
  | { outcome: 'failed'; error: SovendusStoreError };

/** How a send that held claims ended. */
export type SendEnd = 'accepted' | 'not-accepted' | 'unknown';

/** What the claim ledger needs: the store, its bounds, and where background work is kept. */
export interface ClaimLedgerOptions {
  /** The shop's store, as given: the ledger bounds each call itself, to watch late replies. */
  store: TokenStore;
  /** The longest a caller waits for one store call. */
  storeTimeoutMs: number;
  /** How long claims are held: longer than the longest send, so none runs out mid-send. */
  leaseMs: number;
  /** How long "sent" records (and claims that ran out) are kept, in seconds. */
  ttlSeconds: number;
  /** Where late replies and records are logged. */
  log: Log;
  /** Keeps background work (late replies, late records) in view of `close()`. */
  track: (work: Promise<unknown>) => void;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

/** Takes, settles and gives back the claims that make each delivery go out once. */
export interface ClaimLedger {
  /**
   * Takes `keys` for a request. `onLateClaim` (none: nobody to hand it to) runs when claims
   * are taken after the request gave up: the call missed its deadline but was answered, or failed
   * and was made again off the request. The claims are given back after it.
   */
  take(keys: readonly string[], onLateClaim: (() => Promise<void>) | undefined): Promise<Taken>;
  /**
   * Reads the session's token and takes its conversion's claims (one round trip where the
   * store can); `undefined` when the session holds no token.
   */
  takeSession(
    sessionKey: string,
    orderId: string | undefined,
    onLateClaim: ((entry: StoredToken) => Promise<void>) | undefined,
  ): Promise<{ entry: StoredToken; taken: Taken } | undefined | SovendusStoreError>;
  /** Settles claims after a send; never rejects. `consumed`: what an acceptance uses up. */
  settle(claim: Claim, end: SendEnd, consumed: UsedUp | undefined): Promise<void>;
  /** Gives back claims that were taken but not used for a send (the input was invalid). */
  release(claim: Claim): Promise<void>;
}

const isTaken = (outcome: ClaimOutcome): outcome is Claim['outcome'] =>
  outcome === 'acquired' || outcome === 'resumed';

/** The claim ledger over the shop's store, each store call bounded by `storeTimeoutMs`. */
export function createClaimLedger(options: ClaimLedgerOptions): ClaimLedger {
  const { store, storeTimeoutMs, leaseMs, ttlSeconds, log, track } = options;
  const now = options.now ?? Date.now;
  const keepSeconds = ttlSeconds;
  const acquireSessionClaims =
    store.acquireSessionClaims?.bind(store) ??
    ((sessionKey: string, claimKeysOf: ClaimKeysOf, owner: string, lease: ClaimLease) =>
      readThenClaim(store, sessionKey, claimKeysOf, owner, lease));

  /**
   * A store call bounded by the deadline; `late` hears what a call that missed it came to,
   * and `missed` that it did.
   */
  function bounded<T>(
    operation: string,
    work: () => Promise<T>,
    late?: (reply: T) => Promise<void> | undefined,
    missed?: () => void,
  ): Promise<T> {
    return withDeadline(
      work,
      storeTimeoutMs,
      (pending) => {
        missed?.();
        if (late) track(pending.then(late).catch(() => undefined));
        return new SovendusStoreError(
          operation,
          new Error(`no answer within ${storeTimeoutMs} ms`),
        );
      },
      (error) => new SovendusStoreError(operation, error),
    );
  }

  function newLease(): { owner: string; lease: ClaimLease } {
    return { owner: randomUUID(), lease: { endsAt: now() + leaseMs, keepSeconds } };
  }

  async function release(claim: Claim): Promise<void> {
    // A resumed claim is what the store knows of an earlier call that may have been taken.
    // Deleted, it would let the next sender send again without a word: it runs out instead,
    // and whoever takes it then is told, as this sender was.
    if (claim.outcome === 'resumed') return;
    try {
      await bounded('release the delivery claims', () =>
        store.releaseClaims(claim.keys, claim.owner),
      );
    } catch (error) {
      // Harmless: the lease ends by itself, and the next sender takes it then.
      log.warn({ err: error }, 'could not release a send claim');
    }
  }

  /** Claims taken after the request gave up on them: handed over, then given back. */
  async function rescueLateClaim(
    taken: Taken,
    onLateClaim: (() => Promise<void>) | undefined,
  ): Promise<void> {
    if (taken.outcome !== 'acquired' && taken.outcome !== 'resumed') return;
    if (onLateClaim) await onLateClaim();
    await release(taken);
  }

  /**
   * A redemption's voucher code goes beside its record, in a call of its own (the contract's
   * `completeClaims` knows only tokens), sent at the same moment: no round trip more to wait.
   * Not retried: a code that stays is at worst offered again at the session's next checkout,
   * and expires with the session's token.
   */
  async function deleteCouponCode(used: ConsumedCouponCode): Promise<void> {
    if (store.deleteCouponCode === undefined) return;
    try {
      await bounded('delete the used voucher code', async () =>
        store.deleteCouponCode?.(used.sessionKey, used.couponCode),
      );
    } catch (error) {
      log.warn({ err: error }, 'redeemed, but its voucher code stays in the session');
    }
  }

  async function complete(claim: Claim, consumed: UsedUp | undefined): Promise<void> {
    const token = consumed && 'token' in consumed ? consumed : undefined;
    const couponCode = consumed && 'couponCode' in consumed ? consumed : undefined;
    const deleted = couponCode && deleteCouponCode(couponCode);
    try {
      // One round trip: the claims become "sent" and a session's token goes.
      await bounded('mark the delivery sent', () =>
        store.completeClaims(claim.keys, ttlSeconds, token),
      );
    } catch (error) {
      log.warn({ err: error }, 'sent, but not yet recorded as sent: trying again');
      track(recordLate(claim, token));
    }
    await deleted;
  }

  /**
   * Accepted, but the store could not record it. Until the lease ends it keeps every other
   * sender out; after that, a queued retry would send it again. So the record is retried, off
   * the request, for as long as the lease lasts.
   */
  async function recordLate(claim: Claim, consumed: ConsumedToken | undefined): Promise<void> {
    for (let retry = 1; now() < claim.endsAt; retry += 1) {
      await sleep(backoffDelayMs(retry, RECORD_RETRY, undefined), undefined, { ref: false });
      try {
        await bounded('mark the delivery sent', () =>
          store.completeClaims(claim.keys, ttlSeconds, consumed),
        );
        log.info({}, 'recorded as sent');
        return;
      } catch {
        // Still unreachable: the next try follows.
      }
    }
    // The store stayed out of reach for longer than the lease: a second send is possible.
    log.error({ keys: claim.keys.length }, 'sent, but not recorded as sent: it may be sent again');
  }

  /**
   * One claim call for a request, bounded by the deadline. A call that misses it may still
   * be answered: what it took is handed over (`onLateClaim`, which queues the delivery) and given back.
   * A call that fails outright (the store refused, the connection broke) took nothing, but the
   * delivery still waits to be sent: when there is someone to hand it to, the call is made
   * again off the request, with backoff, for as long as a lease lasts, and what it takes is
   * handed over the same way. `claim` makes a new owner and lease on every call.
   */
  async function claimForRequest<T>(
    operation: string,
    claim: () => Promise<T>,
    rescue: (reply: T) => Promise<void> | undefined,
    lookAgain: boolean,
  ): Promise<T> {
    const call = { missed: false };
    try {
      return await bounded(operation, claim, rescue, () => (call.missed = true));
    } catch (error) {
      if (!call.missed && lookAgain) track(claimAgain(operation, claim, rescue));
      throw error;
    }
  }

  async function claimAgain<T>(
    operation: string,
    claim: () => Promise<T>,
    rescue: (reply: T) => Promise<void> | undefined,
  ): Promise<void> {
    const until = now() + leaseMs;
    for (let retry = 1; now() < until; retry += 1) {
      await sleep(backoffDelayMs(retry, RECORD_RETRY, undefined), undefined, { ref: false });
      const call = { missed: false };
      try {
        await rescue(await bounded(operation, claim, rescue, () => (call.missed = true)));
        log.info({ operation }, 'a claim call that failed was made again');
        return;
      } catch {
        // A call that missed its deadline is rescued when its late reply comes; one that failed is retried.
        if (call.missed) return;
      }
    }
  }

  /** What a claim outcome means for its taker. */
  const takenAs = (
    keys: readonly string[],
    owner: string,
    lease: ClaimLease,
    outcome: ClaimOutcome,
  ): Taken =>
    isTaken(outcome)
      ? { keys, owner, endsAt: lease.endsAt, outcome }
      : { outcome: outcome === 'held' ? 'held' : 'completed' };

  return {
    async take(keys, onLateClaim) {
      const claim = async () => {
        const { owner, lease } = newLease();
        return takenAs(
          keys,
          owner,
          lease,
          claimAnswer(await store.acquireClaims(keys, owner, lease)),
        );
      };
      try {
        return await claimForRequest(
          'claim the delivery',
          claim,
          (late) => rescueLateClaim(late, onLateClaim),
          onLateClaim !== undefined,
        );
      } catch (error) {
        return { outcome: 'failed', error: error as SovendusStoreError };
      }
    },

    async takeSession(sessionKey, orderId, onLateClaim) {
      const claimKeysOf = conversionClaimKeys(orderId);
      const claim = async () => {
        const { owner, lease } = newLease();
        // `null` from a custom store means none, as `undefined` does; any other answer of the
        // wrong shape is a store failure.
        const found = sessionClaimsAnswer(
          await acquireSessionClaims(sessionKey, claimKeysOf, owner, lease),
        );
        return (
          found && {
            entry: found.entry,
            taken: takenAs(claimKeysOf(found.entry), owner, lease, found.claim),
          }
        );
      };
      try {
        return await claimForRequest(
          "claim the session's token",
          claim,
          (late) =>
            late && rescueLateClaim(late.taken, onLateClaim && (() => onLateClaim(late.entry))),
          onLateClaim !== undefined,
        );
      } catch (error) {
        return error as SovendusStoreError;
      }
    },

    async settle(claim, end, consumed) {
      if (end === 'accepted') return complete(claim, consumed);
      if (end === 'not-accepted') return release(claim);
      // Maybe accepted: releasing would invite a silent second send. Kept until the lease
      // ends; whoever takes it then is told (`resumed`) and reports its resend.
      log.warn({}, 'the outcome of a send is unknown: its claim is kept until its lease ends');
      return Promise.resolve();
    },

    release,
  };
}
