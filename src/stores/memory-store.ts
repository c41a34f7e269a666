import type { ClaimLease, ClaimOutcome, ConsumedToken, StoredToken, TokenStore } from '../types.js';

export interface MemoryTokenStoreOptions {
  /**
   * The most tokens (and, separately, claims) kept at once; past it the oldest are dropped,
   * so a flood of landing requests cannot exhaust memory. Default `10000`.
   */
  maxEntries?: number;
  /** The clock, in milliseconds since the epoch. Default `Date.now`; tests pass their own. */
  now?: () => number;
}

interface Expiring<T> {
  value: T;
  expiresAt: number;
}

const COMPLETED = Symbol('completed');

/** A claim someone holds until `endsAt`. */
interface Held {
  owner: string;
  endsAt: number;
}

/**
 * A bounded map whose entries expire lazily on read: no timers, so it never keeps a process
 * alive. A `Map` iterates in insertion order, and every write re-inserts, so the first key is
 * always the least recently written one: the one to drop when full.
 */
class ExpiringMap<T> {
  readonly #entries = new Map<string, Expiring<T>>();
  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number,
  ) {}

  get(key: string): T | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.#entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(key: string, value: T, ttlMs: number): void {
    this.#entries.delete(key);
    this.#entries.set(key, { value, expiresAt: this.now() + ttlMs });
    if (this.#entries.size > this.maxEntries) {
      const oldest = this.#entries.keys().next();
      if (oldest.done !== true) this.#entries.delete(oldest.value);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Keeps tokens in this process's memory: the zero-configuration default for development and
 * tests. Tokens vanish on restart and are not shared between instances; use
 * `RedisTokenStore` in production.
 */
export class MemoryTokenStore implements TokenStore {
  readonly #tokens: ExpiringMap<StoredToken>;
  readonly #claims: ExpiringMap<Held | typeof COMPLETED>;
  readonly #now: () => number;

  constructor(options: MemoryTokenStoreOptions = {}) {
    const maxEntries = options.maxEntries ?? 10_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('MemoryTokenStore: maxEntries must be a positive whole number');
    }
    this.#now = options.now ?? Date.now;
    this.#tokens = new ExpiringMap(maxEntries, this.#now);
    this.#claims = new ExpiringMap(maxEntries, this.#now);
  }

  /** How many tokens are held now (expired ones may still count until they are read). */
  get size(): number {
    return this.#tokens.size;
  }

  saveToken(sessionKey: string, entry: StoredToken, ttlSeconds: number): Promise<void> {
    this.#tokens.set(sessionKey, { ...entry }, ttlSeconds * 1000);
    return Promise.resolve();
  }

  getToken(sessionKey: string): Promise<StoredToken | undefined> {
    const entry = this.#tokens.get(sessionKey);
    return Promise.resolve(entry && { ...entry });
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
