import type { IncomingMessage } from 'node:http';

/**
 * The token's key of each request whose session held one, for the rest of that request (see
 * session.ts). Kept beside the request, not on it: Express requests have hidden classes of their
 * own (see attach-context.ts), so a property added to one, even a symbol, copies its whole
 * hidden class, and a key is carried on every request of a visitor who landed.
 *
 * A `Map` whose entry the response's end deletes, not a `WeakMap`: a `WeakMap` entry costs V8
 * an ephemeron that every garbage collection visits, measured at 0.9-2.2 µs per request against
 * 0.24-0.37 µs for a `Map` entry set and deleted. A request that never ends would keep its entry,
 * so the map holds at most `limit` requests and drops the longest-held first: such a request
 * then only loses the key for a session it makes later (a `regenerate()` after it was dropped).
 */
export class CarriedKeys {
  private readonly keys = new Map<IncomingMessage, string>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.keys.size;
  }

  has(req: IncomingMessage): boolean {
    return this.keys.has(req);
  }

  get(req: IncomingMessage): string | undefined {
    return this.keys.get(req);
  }

  set(req: IncomingMessage, key: string): void {
    if (this.keys.size >= this.limit) {
      // A Map iterates in insertion order, so its first entry is the longest-held request.
      for (const oldest of this.keys.keys()) {
        this.keys.delete(oldest);
        break;
      }
    }
    this.keys.set(req, key);
  }

  delete(req: IncomingMessage): void {
    this.keys.delete(req);
  }
}

/**
 * More tokened requests in flight at once than one instance serves; a dropped entry holds a
 * request object (a few KB) that its socket no longer does, so the bound is also a memory bound.
 */
const IN_FLIGHT_LIMIT = 4_096;

/** The one map of an instance's process: a request is in one app's hands at a time. */
export const carriedKeys = new CarriedKeys(IN_FLIGHT_LIMIT);
