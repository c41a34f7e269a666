import { callSafely } from './callbacks.js';
import type { SovendusEvents } from './types.js';

/** A listener may be `async`: what it returns is only watched for a rejection. */
type Listener<E extends keyof SovendusEvents> = (payload: SovendusEvents[E]) => unknown;
type AnyListener = (payload: never) => unknown;

/**
 * A typed, throw-proof event hub. Unlike `EventEmitter`, a listener that throws, or returns a
 * promise that rejects, cannot break the shop's request or process, and there is no special
 * `error` event that crashes when unheard.
 */
export class SovendusEventHub {
  readonly #listeners = new Map<keyof SovendusEvents, Set<AnyListener>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  /** Adds a listener; returns a function that removes it. */
  on<E extends keyof SovendusEvents>(event: E, listener: Listener<E>): () => void {
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
  emit<E extends keyof SovendusEvents>(event: E, payload: SovendusEvents[E]): void {
    const listeners = this.#listeners.get(event);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      callSafely(() => (listener as Listener<E>)(payload), this.onListenerError);
    }
  }
}
