import { withDeadline } from '../deadline.js';
import type { Log } from '../logging.js';
import type { DeliveryQueue, QueuedDelivery } from '../queue/delivery-queue.js';

/**
 * Hands a delivery to the queue within the store's bound; `delayMs` makes it a follow-up.
 * Resolves whether the queue confirmed it; never rejects.
 */
export type Enqueue = (delivery: QueuedDelivery, delayMs?: number) => Promise<boolean>;

/** The queue's add, bounded by `storeTimeoutMs` and logged when it fails. */
export function createEnqueue(
  queue: DeliveryQueue,
  storeTimeoutMs: number,
  log: Log,
  track: (work: Promise<unknown>) => void,
): Enqueue {
  return async (delivery, delayMs) => {
    try {
      // The queue lives in Redis too: an outage must not hold the request beyond the bound.
      await withDeadline(
        () => queue.enqueue(delivery, { delayMs }),
        storeTimeoutMs,
        (pending) => {
          // An add that misses the bound may still be answered: then it is queued after all, which
          // is said, not an error.
          track(
            pending.then(
              () => {
                log.info({ kind: delivery.kind }, `${delivery.kind} queued after all (late)`);
              },
              (error: unknown) => {
                log.warn({ err: error }, `${delivery.kind} not queued`);
              },
            ),
          );
          return new Error(`the queue did not answer within ${storeTimeoutMs} ms`);
        },
        (cause) => (cause instanceof Error ? cause : new Error(String(cause))),
      );
      return true;
    } catch (cause) {
      log.warn({ err: cause }, `could not queue a ${delivery.kind} now`);
      return false;
    }
  };
}
