import {
  conversionClaimKeys,
  createClaimLedger,
  orderClaimKey,
  tokenClaimKey,
  type Claim,
  type ClaimLedger,
  type Taken,
} from '../src/delivery/claim-ledger.js';
import type { Log } from '../src/logging.js';
import { MemoryTokenStore, type TokenStore } from '../src/index.js';
import { PRODUCT_ID } from './support/shop.js';

/** A clock the test moves by hand: leases end when the test says so, not when time passes. */
function manualClock(start = 1_000_000) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
  };
}

const LEASE_MS = 10_000;
const silent: Log = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function ledgerOn(store: TokenStore, now: () => number, storeTimeoutMs = 1_000) {
  const background: Promise<unknown>[] = [];
  const ledger = createClaimLedger({
    store,
    storeTimeoutMs,
    leaseMs: LEASE_MS,
    ttlSeconds: 3_600,
    log: silent,
    track: (work) => background.push(work),
    now,
  });
  return { ledger, settled: () => Promise.all(background) };
}

const noLateClaim = () => Promise.resolve();

function claimOf(taken: Taken): Claim {
  if (taken.outcome !== 'acquired' && taken.outcome !== 'resumed') {
    throw new Error(`expected the claims to be taken, got ${taken.outcome}`);
  }
  return taken;
}

describe('the claim ledger', () => {
  let clock: ReturnType<typeof manualClock>;
  let store: MemoryTokenStore;
  let ledger: ClaimLedger;
  const keys = ['conversion:p:t', 'order:p:1'];

  beforeEach(() => {
    clock = manualClock();
    store = new MemoryTokenStore({ now: clock.now });
    ({ ledger } = ledgerOn(store, clock.now));
  });

  it('lets one sender take a delivery; the others find it held', async () => {
    const first = claimOf(await ledger.take(keys, noLateClaim));
    expect(first).toMatchObject({ outcome: 'acquired', endsAt: clock.now() + LEASE_MS });
    expect(await ledger.take(keys, noLateClaim)).toEqual({ outcome: 'held' });
    // One shared claim is enough to hold a delivery off.
    expect(await ledger.take([keys[1]!], noLateClaim)).toEqual({ outcome: 'held' });
  });

  it('records an accepted delivery for good, and uses up the session token it sent', async () => {
    await store.saveToken('session', { token: 't', productId: 'p', capturedAt: 1 }, 60);
    const claim = claimOf(await ledger.take(keys, noLateClaim));
    await ledger.settle(claim, 'accepted', { sessionKey: 'session', token: 't' });
    expect(await store.getToken('session')).toBeUndefined();
    clock.advance(LEASE_MS * 10);
    expect(await ledger.take(keys, noLateClaim)).toEqual({ outcome: 'completed' });
  });

  it('frees a delivery that surely was not accepted, for the next sender at once', async () => {
    const claim = claimOf(await ledger.take(keys, noLateClaim));
    await ledger.settle(claim, 'not-accepted', undefined);
    expect(await ledger.take(keys, noLateClaim)).toMatchObject({ outcome: 'acquired' });
  });

  it('keeps a delivery whose outcome is unknown until its lease ends, then says it resumes', async () => {
    const claim = claimOf(await ledger.take(keys, noLateClaim));
    await ledger.settle(claim, 'unknown', undefined);
    expect(await ledger.take(keys, noLateClaim)).toEqual({ outcome: 'held' });
    clock.advance(LEASE_MS);
    expect(await ledger.take(keys, noLateClaim)).toMatchObject({ outcome: 'resumed' });
  });

  it('says resumed when a sender died holding the claims', async () => {
    claimOf(await ledger.take(keys, noLateClaim)); // and then nothing: the process died
    clock.advance(LEASE_MS - 1);
    expect(await ledger.take(keys, noLateClaim)).toEqual({ outcome: 'held' });
    clock.advance(1);
    expect(await ledger.take(keys, noLateClaim)).toMatchObject({ outcome: 'resumed' });
  });

  it("reads a session's token and takes the claims of its conversion, per product and order", async () => {
    await store.saveToken('session', { token: 'tok', productId: PRODUCT_ID, capturedAt: 1 }, 60);
    const found = await ledger.takeSession('session', '1001', noLateClaim);
    expect(found).toMatchObject({ entry: { token: 'tok' }, taken: { outcome: 'acquired' } });
    expect(conversionClaimKeys('1001')({ productId: PRODUCT_ID, token: 'tok' })).toEqual([
      tokenClaimKey(PRODUCT_ID, 'tok'),
      orderClaimKey(PRODUCT_ID, '1001'),
    ]);
    // The same order number in another product's campaign is another conversion.
    const other = '00000000-0000-4000-8000-000000000000';
    expect(orderClaimKey(other, '1001')).not.toBe(orderClaimKey(PRODUCT_ID, '1001'));
    expect(await ledger.take([orderClaimKey(other, '1001')], noLateClaim)).toMatchObject({
      outcome: 'acquired',
    });
    expect(await ledger.takeSession('nobody', '1001', noLateClaim)).toBeUndefined();
  });
});

/** A store whose claim calls wait at a gate the test opens, as a stalled Redis would. */
function gatedStore(inner: TokenStore) {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const store: TokenStore = {
    saveToken: (...args) => inner.saveToken(...args),
    getToken: (...args) => inner.getToken(...args),
    acquireClaims: async (...args) => {
      await gate;
      return inner.acquireClaims(...args);
    },
    completeClaims: (...args) => inner.completeClaims(...args),
    releaseClaims: (...args) => inner.releaseClaims(...args),
  };
  return { store, open };
}

describe('the claim ledger, when the store is late or down', () => {
  it('hands over and gives back a claim answered after its deadline', async () => {
    const clock = manualClock();
    const inner = new MemoryTokenStore({ now: clock.now });
    const { store, open } = gatedStore(inner);
    const { ledger, settled } = ledgerOn(store, clock.now, 1);
    const handedOver: string[] = [];
    const taken = await ledger.take(['coupon:x'], () => {
      handedOver.push('queued');
      return Promise.resolve();
    });
    expect(taken).toMatchObject({ outcome: 'failed', error: { code: 'STORE_UNAVAILABLE' } });
    open(); // the stalled store answers: a late reply, though nobody waits for it
    await settled();
    expect(handedOver).toEqual(['queued']);
    // Given back: the next sender (the queue's worker) can take it at once.
    expect(
      await inner.acquireClaims(['coupon:x'], 'next', { endsAt: clock.now() + 1, keepSeconds: 60 }),
    ).toBe('acquired');
  });

  it('records an accepted delivery that the store failed to record, once it answers again', async () => {
    const inner = new MemoryTokenStore();
    let failures = 2;
    const flaky: TokenStore = {
      saveToken: (...args) => inner.saveToken(...args),
      getToken: (...args) => inner.getToken(...args),
      acquireClaims: (...args) => inner.acquireClaims(...args),
      completeClaims: (...args) => {
        if (failures > 0) {
          failures -= 1;
          return Promise.reject(new Error('READONLY'));
        }
        return inner.completeClaims(...args);
      },
      releaseClaims: (...args) => inner.releaseClaims(...args),
    };
    const { ledger, settled } = ledgerOn(flaky, Date.now);
    const claim = claimOf(await ledger.take(['conversion:p:late'], noLateClaim));
    await ledger.settle(claim, 'accepted', undefined);
    await settled();
    expect(failures).toBe(0);
    expect(await ledger.take(['conversion:p:late'], noLateClaim)).toEqual({ outcome: 'completed' });
  });

  it('treats a store that answers null as holding no token', async () => {
    const inner = new MemoryTokenStore();
    const nullish = {
      saveToken: (...args: Parameters<TokenStore['saveToken']>) => inner.saveToken(...args),
      getToken: () => Promise.resolve(null),
      acquireClaims: (...args: Parameters<TokenStore['acquireClaims']>) =>
        inner.acquireClaims(...args),
      completeClaims: (...args: Parameters<TokenStore['completeClaims']>) =>
        inner.completeClaims(...args),
      releaseClaims: (...args: Parameters<TokenStore['releaseClaims']>) =>
        inner.releaseClaims(...args),
    } as unknown as TokenStore;
    const { ledger } = ledgerOn(nullish, Date.now);
    expect(await ledger.takeSession('session', undefined, noLateClaim)).toBeUndefined();
  });
});

describe('what a resumed claim remembers', () => {
  it('is not forgotten when the resuming sender fails, nor when its claim was answered late', async () => {
    const clock = manualClock();
    const store = new MemoryTokenStore({ now: clock.now });
    const { ledger } = ledgerOn(store, clock.now);
    const keys = ['conversion:p:maybe'];
    const first = claimOf(await ledger.take(keys, noLateClaim));
    await ledger.settle(first, 'unknown', undefined); // maybe taken by Sovendus
    clock.advance(LEASE_MS);
    const second = claimOf(await ledger.take(keys, noLateClaim));
    expect(second.outcome).toBe('resumed');
    // A 503 this time: surely not taken, but the first call still may have been.
    await ledger.settle(second, 'not-accepted', undefined);
    await ledger.release(second);
    clock.advance(LEASE_MS);
    expect(await ledger.take(keys, noLateClaim)).toMatchObject({ outcome: 'resumed' });
  });
});
