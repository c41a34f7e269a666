import { afterTimeAndIo } from '../deadline.js';
import type { Log } from '../logging.js';
import type { TokenStore } from '../types.js';

/*
 * A store that hangs (Redis stopped, a network partition that drops packets) answers nothing,
 * and errs nothing either. Every request is still answered in time, since each one waits at
 * most `storeTimeoutMs`, but every call it made stays with the client: ioredis keeps each
 * command until Redis answers, with its arguments, its promise and whatever waits on it. A
 * busy shop wrote 102,000 commands (+439 MB of heap) into one hang. So this breaker:
 *
 * - opens after `timeouts` calls in a row missed `storeTimeoutMs`, and then refuses new calls
 *   for `coolDownMs`; after that one call goes out as a probe (the others are refused while it
 *   is out): answered in time, the breaker closes; missed, it opens again;
 * - refuses a new call while `maxPendingCalls` calls are unanswered, whatever their age: the
 *   bound that holds before the first timeout can be seen, however fast requests arrive.
 *
 * It refuses only to *start* work: saving and reading a token, taking claims. A refused call
 * is never made, so it took nothing, and it fails as a store that refused would: its callers
 * (bounded-store.ts, the claim ledger) report it as `STORE_UNAVAILABLE`, saying why. Settling
 * work already started (recording a send as accepted, releasing claims) always goes out,
 * exactly as without the breaker: refusing it would keep a claim from being recorded, and that
 * is how a second send could happen. A call already made is never abandoned either: its late
 * answer still reaches whoever watches it.
 */

/** The `storeBreaker` option, resolved, with `storeTimeoutMs` and the log. */
export interface StoreBreakerSettings {
  /** A call unanswered after this long counts as a timeout: the shop's `storeTimeoutMs`. */
  timeoutMs: number;
  /** Timeouts in a row that open the breaker. */
  timeouts: number;
  /** How long an open breaker refuses new calls before it lets one probe through. */
  coolDownMs: number;
  /** The most calls unanswered at once; past it new ones are refused. */
  maxPendingCalls: number;
  /** Where opening and closing are logged. */
  log: Log;
  /** A monotonic clock in milliseconds. Default `performance.now`; tests pass their own. */
  now?: () => number;
  /** Hears each call that missed its deadline (the telemetry counts them). */
  missed?: (() => void) | undefined;
}

/** `closed`: calls go out. `open`: new calls are refused. `probing`: one call tells which next. */
export type BreakerState = 'closed' | 'open' | 'probing';

/** A store wrapped by the breaker, and what the breaker sees. */
export interface StoreBreaker {
  /** The store, with new calls refused while the breaker is open. */
  store: TokenStore;
  /**
   * Starts a call as `store`'s methods that start work do (refused while the breaker is open),
   * and calls `missed` when the call is still unanswered at its deadline: the timer that tells
   * the breaker is the caller's deadline too, so a bounded call costs one timer, not two.
   */
  start<T>(work: () => Promise<T>, missed: () => void): Promise<T>;
  /** Whether new calls go out now. */
  state(): BreakerState;
  /** Calls made through it that the store has not answered yet. */
  pendingCalls(): number;
}

/** Methods that start work; the others settle work already started and always go out. */
type Starting = 'saveToken' | 'getToken' | 'acquireClaims' | 'acquireSessionClaims';

/** Wraps `store` so that a hung store is given a bounded number of calls. */
export function createStoreBreaker(
  store: TokenStore,
  settings: StoreBreakerSettings,
): StoreBreaker {
  const { timeoutMs, timeouts, coolDownMs, maxPendingCalls, log, missed: heardMissed } = settings;
  const now = settings.now ?? (() => performance.now());
  let state: BreakerState = 'closed';
  let timeoutsInARow = 0;
  let reopensAt = 0;
  let pending = 0;

  const open = () => {
    // Said once per outage: a probe that misses again, every cool-down, is no news.
    const level = state === 'closed' ? 'warn' : 'debug';
    state = 'open';
    reopensAt = now() + coolDownMs;
    log[level](
      { timeouts: timeoutsInARow, coolDownMs, pendingCalls: pending },
      `the token store missed ${timeoutsInARow} deadlines in a row: new store calls are refused ` +
        `for ${coolDownMs} ms, then one probes it`,
    );
  };

  /** Why a call that starts work may not go out now; `undefined` when it may. */
  const refusal = (): string | undefined => {
    if (pending >= maxPendingCalls) {
      return `not sent: ${pending} store calls are still unanswered (maxPendingCalls)`;
    }
    if (state === 'closed') return undefined;
    if (state === 'open' && now() >= reopensAt) {
      state = 'probing';
      return undefined;
    }
    return `not sent: the store is cooling down after ${timeoutsInARow} timeouts in a row`;
  };

  function watched<T>(work: () => Promise<T>, probe: boolean, onMissed?: () => void): Promise<T> {
    pending += 1;
    let missed = false;
    // After time *and* I/O: a process that stalled past the deadline reads the answer that
    // arrived meanwhile before it calls a timeout, so a GC pause does not open the breaker.
    const cancel = afterTimeAndIo(timeoutMs, () => {
      missed = true;
      timeoutsInARow += 1;
      if (probe || (state === 'closed' && timeoutsInARow >= timeouts)) open();
      heardMissed?.();
      onMissed?.();
    });
    const answered = () => {
      pending -= 1;
      cancel();
      if (missed) return; // counted when it missed; a late answer says nothing of the store now
      timeoutsInARow = 0;
      if (probe) {
        state = 'closed';
        log.info({}, 'the token store answers again: store calls go out again');
      }
    };
    let call: Promise<T>;
    try {
      call = Promise.resolve(work());
    } catch (error) {
      // A store that throws instead of rejecting answered at once; the callers turn the throw
      // into a failure.
      answered();
      throw error;
    }
    call.then(answered, answered);
    return call;
  }

  function starting<T>(work: () => Promise<T>, onMissed?: () => void): Promise<T> {
    const reason = refusal();
    if (reason !== undefined) return Promise.reject(new Error(reason));
    return watched(work, state === 'probing', onMissed);
  }

  const guarded: Pick<TokenStore, Starting | 'completeClaims' | 'releaseClaims'> = {
    saveToken: (key, entry, ttl) => starting(() => store.saveToken(key, entry, ttl)),
    getToken: (key) => starting(() => store.getToken(key)),
    acquireClaims: (keys, owner, lease) => starting(() => store.acquireClaims(keys, owner, lease)),
    completeClaims: (keys, ttl, consumed) =>
      watched(() => store.completeClaims(keys, ttl, consumed), false),
    releaseClaims: (keys, owner) => watched(() => store.releaseClaims(keys, owner), false),
  };
  // Optional in a store: kept absent when it is, so that the ledger reads, then claims.
  const sessionClaims = store.acquireSessionClaims?.bind(store);
  // Optional too; deleting a redeemed voucher code settles a send made, so it is never refused.
  const deleteCouponCode = store.deleteCouponCode?.bind(store);
  return {
    store: {
      ...guarded,
      ...(sessionClaims && {
        acquireSessionClaims: (sessionKey, claimKeysOf, owner, lease) =>
          starting(() => sessionClaims(sessionKey, claimKeysOf, owner, lease)),
      }),
      ...(deleteCouponCode && {
        deleteCouponCode: (sessionKey, couponCode) =>
          watched(() => deleteCouponCode(sessionKey, couponCode), false),
      }),
    },
    start: starting,
    state: () => state,
    pendingCalls: () => pending,
  };
}
