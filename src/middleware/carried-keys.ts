import type { IncomingMessage } from 'node:http';

/**
 * The token's key of each request whose session held one, for the rest of that request (see
 * session.ts). Kept beside the request, not on it: Express requests have hidden classes of their
 * own (see attach-context.ts), so a property added to one, even a symbol, copies its whole
 * hidden class, and a key is carried on every request of a visitor who landed.
 *
 * A `WeakMap`, so that a request that never ends keeps nothing alive; the response's end deletes
 * the entry anyway, as the session then holds the key itself. Measured over HTTP under callgrind
 * (`bench/instructions.mjs`): a `Map` with the same set and delete cost a tokened landing about
 * 70 k instructions more (1.11 M against 1.04 M), nearly all of it in garbage collection (more
 * objects surviving scavenges and promoted), though a micro-benchmark had found a `Map` entry
 * cheaper than a `WeakMap` entry.
 */
export const carriedKeys = new WeakMap<IncomingMessage, string>();
