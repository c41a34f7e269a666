import { callSafely } from './callbacks.js';
import type { SovendusEvents } from './types.js';

/**
 * Fates that no event of the shop's tells, heard inside the package only (by its telemetry,
 * which counts every outcome).
 */
export interface InternalEvents {
  /** A conversion or redemption was sent already, or is being sent: a `duplicate` result. */
  duplicate: { kind: 'conversion' | 'redemption' };
  /** A checkout's session held no token: a `no_token` result. */
  noToken: undefined;
}

/** Every event the hub carries: the shop's and the package's own. */
export type HubEvents = SovendusEvents & InternalEvents;

/** A listener may be `async`: what it returns is only watched for a rejection. */
type Listener<E extends keyof HubEvents> = (payload: HubEvents[E]) => unknown;
type AnyListener = (payload: never) => unknown;

/**
 * A typed, throw-proof event hub. Unlike `EventEmitter`, a listener that throws, or returns a
 * promise that rejects, cannot break the shop's request or process, and there is no special
 * `error` event that crashes when unheard.
 */
export class SovendusEventHub {
  readonly #listeners = new Map<keyof HubEvents, Set<AnyListener>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof HubEvents>(event: E, listener: Listener<E>): () => void {
    let listeners = this.#listeners.get(event);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(event, listeners);
    }
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  /** Calls every listener of `event`; one that throws or rejects goes to `onListenerError`. */
  emit<E extends keyof HubEvents>(event: E, payload: HubEvents[E]): void {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      callSafely(() => (listener as Listener<E>)(payload), this.onListenerError);
    }
  }
}
