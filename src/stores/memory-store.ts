import type { ClaimLease, ClaimOutcome, ConsumedToken, StoredToken, TokenStore } from '../types.js';

/** Options of {@link MemoryTokenStore}. */
export interface MemoryTokenStoreOptions {
  /**
   * The most tokens (and, separately, voucher codes and claims) kept at once; past it the
   * oldest are dropped, so a flood of landing requests cannot exhaust memory. Default `10000`.
   */
  maxEntries?: number;
  /**
   * The most bytes of tokens (and, separately, of voucher codes and of claims) kept at once, by
   * an estimate: each entry counts its key's and its strings' characters (two bytes each for a
   * key beyond Latin-1) and 200 bytes for the objects around them. Past it the oldest are dropped:
   * `maxEntries` alone let 10,000 tokens under 8 KB session keys take 85 MB. Default
   * `8388608` (8 MiB), which holds the default 10,000 tokens of usual size (about 290 bytes
   * each), or about 1,000 under 8 KB keys.
   */
  maxBytes?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
  /** What this entry counts against `maxBytes`. */
  bytes: number;
}

/**
 * What an entry costs beyond its strings' characters: the map's slot, the entry and value
 * objects, string headers. Measured at about 210 bytes on Node 20 (bench/memory-store.mjs);
 * rounded down, as the strings are counted in full though V8 may share some (a product id).
 */
const ENTRY_OVERHEAD_BYTES = 200;

const BEYOND_LATIN1 = /[\u0100-\uffff]/;

/** V8 keeps a string of Latin-1 characters at one byte each, any other at two. */
const stringBytes = (value: string): number =>
  BEYOND_LATIN1.test(value) ? 2 * value.length : value.length;

const DEFAULT_MAX_BYTES = 8 * 1024 * 1024;

function positiveWholeNumber(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`MemoryTokenStore: ${name} must be a positive whole number`);
  }
  return value;
}

const COMPLETED = Symbol('completed');

/** A claim someone holds until `endsAt`. */
interface Held {
  owner: string;
  endsAt: number;
}

interface Bounds {
  maxEntries: number;
  maxBytes: number;
  now: () => number;
}

/**
 * A map bounded in entries and in bytes, whose entries expire lazily on read: no timers, so it
 * never keeps a process alive. A `Map` iterates in insertion order, and every write
 * re-inserts, so the first key is always the least recently written one: the one to drop when
 * full. An entry larger than `maxBytes` on its own is dropped at once.
 */
class ExpiringMap<T> {
  readonly #entries = new Map<string, Expiring<T>>();
  #bytes = 0;
  constructor(
    private readonly bounds: Bounds,
    /** The characters' bytes of an entry's value (its key is counted here). */
    private readonly valueBytes: (value: T) => number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.bounds.now()) {
      this.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.delete(key);
    const bytes = ENTRY_OVERHEAD_BYTES + stringBytes(key) + this.valueBytes(value);
    this.#entries.set(key, { value, expiresAt: this.bounds.now() + ttlMs, bytes });
    this.#bytes += bytes;
    const { maxEntries, maxBytes } = this.bounds;
    while (this.#entries.size > maxEntries || this.#bytes > maxBytes) {
      const oldest = this.#entries.keys().next();
      if (oldest.done === true) break;
      this.delete(oldest.value);
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  get size(): number {
    return this.#entries.size;
  }

  get bytes(): number {
    return this.#bytes;
  }
}

/**
 * Keeps tokens in this process's memory: the zero-configuration default for development and
 * tests. Tokens vanish on restart and are not shared between instances; use
 * `RedisTokenStore` in production.
 *
 * Tokens, voucher codes and claims are bounded apart, so a flood of landings (tokens, codes)
 * can never drop a claim that keeps a conversion from going out twice. Among tokens, the oldest written goes first:
 * the store cannot tell a bot's landing from a visitor's, so enough landings drop a visitor's
 * token before their checkout (see docs/hardening.md).
 */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  readonly #couponCodes: ExpiringMap<string>;
  readonly #claims: ExpiringMap<Held | typeof COMPLETED>;
  readonly #now: () => number;

  constructor(options: MemoryTokenStoreOptions = {}) {
    this.#now = options.now ?? Date.now;
    const bounds: Bounds = {
      maxEntries: positiveWholeNumber('maxEntries', options.maxEntries ?? 10_000),
      maxBytes: positiveWholeNumber('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES),
      now: this.#now,
    };
    this.#tokens = new ExpiringMap(
      bounds,
      ({ token, productId }) => stringBytes(token) + stringBytes(productId),
    );
    this.#couponCodes = new ExpiringMap(bounds, stringBytes);
    this.#claims = new ExpiringMap(bounds, (claim) =>
      claim === COMPLETED ? 0 : stringBytes(claim.owner),
    );
  }

  /** How many tokens are held now (expired ones may still count until they are read). */
  get size(): number {
    return this.#tokens.size;
  }

  /** The bytes the tokens held now count against `maxBytes`, by the store's estimate. */
  get bytes(): number {
    return this.#tokens.bytes;
  }

  saveToken(sessionKey: string, entry: StoredToken, ttlSeconds: number): Promise<void> {
    this.#tokens.set(sessionKey, { ...entry }, ttlSeconds * 1000);
    return Promise.resolve();
  }

  getToken(sessionKey: string): Promise<StoredToken | undefined> {
    const entry = this.#tokens.get(sessionKey);
    return Promise.resolve(entry && { ...entry });
  }
  deleteToken(sessionKey: string): Promise<void> {
    this.#tokens.delete(sessionKey);
    return Promise.resolve();
  }

  saveCouponCode(sessionKey: string, couponCode: string, ttlSeconds: number): Promise<void> {
    this.#couponCodes.set(sessionKey, couponCode, ttlSeconds * 1000);
    return Promise.resolve();
  }

  getCouponCode(sessionKey: string): Promise<string | undefined> {
    return Promise.resolve(this.#couponCodes.get(sessionKey));
  }

  deleteCouponCode(sessionKey: string, couponCode?: string): Promise<void> {
    if (couponCode === undefined || this.#couponCodes.get(sessionKey) === couponCode) {
      this.#couponCodes.delete(sessionKey);
    }
    return Promise.resolve();
  }

  acquireClaims(keys: readonly string[], owner: string, lease: ClaimLease): Promise<ClaimOutcome> {
    // One synchronous pass: nothing can run in between, so all-or-none comes for free.
    const now = this.#now();
    let resumed = false;
    for (const key of keys) {
      const claim = this.#claims.get(key);
      if (claim === COMPLETED) return Promise.resolve('completed');
      if (claim === undefined || claim.owner === owner) continue;
      if (claim.endsAt > now) return this.#heldUnlessCompleted(keys);
      resumed = true;
    }
    for (const key of keys) {
      this.#claims.set(key, { owner, endsAt: lease.endsAt }, lease.keepSeconds * 1000);
    }
    return Promise.resolve(resumed ? 'resumed' : 'acquired');
  }

  /** A later key may be completed, which wins over held. */
  #heldUnlessCompleted(keys: readonly string[]): Promise<ClaimOutcome> {
    const completed = keys.some((key) => this.#claims.get(key) === COMPLETED);
    return Promise.resolve(completed ? 'completed' : 'held');
  }

  completeClaims(
    keys: readonly string[],
    ttlSeconds: number,
    consumed?: ConsumedToken,
  ): Promise<void> {
    for (const key of keys) this.#claims.set(key, COMPLETED, ttlSeconds * 1000);
    if (consumed && this.#tokens.get(consumed.sessionKey)?.token === consumed.token) {
      this.#tokens.delete(consumed.sessionKey);
    }
    return Promise.resolve();
  }

  releaseClaims(keys: readonly string[], owner: string): Promise<void> {
    for (const key of keys) {
      const claim = this.#claims.get(key);
      if (claim !== undefined && claim !== COMPLETED && claim.owner === owner) {
        this.#claims.delete(key);
      }
    }
    return Promise.resolve();
  }
}
